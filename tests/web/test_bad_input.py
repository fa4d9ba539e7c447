"""Bad input on the browser pages answers 4xx with a message that says what to fix, never
500: NUL characters in query arguments and form values, out-of-range date filters, page
links (cursors) that Ferry did not issue, and a database error inside a request."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import Project, Run
from tests import history_factories as hf
from tests.support import csrf_token_from

NUL = "\x00"
NUL_MESSAGE = "contains a NUL character (\\u0000); remove it"
PAGE_LINK_MESSAGE = "This page link is not valid; go back to the first page."


@pytest.fixture
def run(flow, db):
    order = hf.work_order(flow, body={"patient": "Amina"}, logs=[("info", "fetched 3 cases")])
    return db.session.scalar(select(Run).where(Run.work_order_id == order.id))


def b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def text_of(response) -> str:
    return response.get_data(as_text=True)


# -- NUL characters --------------------------------------------------------------------------

NUL_IN_QUERY = {
    "history search": ("/projects/{p}/history", {"q": f"Ami{NUL}na"}, "q"),
    "history search, htmx": ("/projects/{p}/history", {"q": f"{NUL}abc"}, "q"),
    "history next page": ("/projects/{p}/history/rows", {"q": f"abc{NUL}"}, "q"),
    "history count": ("/projects/{p}/history/count", {"q": f"ab{NUL}c", "in": "logs"}, "q"),
    "history arrivals": ("/projects/{p}/history/newer", {"state": f"failed{NUL}"}, "state"),
    "history date": ("/projects/{p}/history", {"received_from": f"2024-01-01{NUL}"}, None),
    "run page log search": ("/projects/{p}/runs/{r}", {"log_q": f"fetch{NUL}ed"}, "log_q"),
    "run log lines": ("/projects/{p}/runs/{r}/logs", {"log_q": f"{NUL}"}, "log_q"),
    "dashboard period": ("/projects/{p}/dashboard", {"period": f"7d{NUL}"}, "period"),
    "credentials list": ("/credentials", {"q": NUL}, "q"),
}


@pytest.mark.parametrize("case", list(NUL_IN_QUERY), ids=list(NUL_IN_QUERY))
def test_a_nul_character_in_a_query_argument_is_refused_naming_the_argument(
    signed_in, project, run, case
):
    path, args, field = NUL_IN_QUERY[case]
    url = path.format(p=project.id, r=run.id)
    headers = {"HX-Request": "true"} if "htmx" in case else {}
    response = signed_in.get(url, query_string=args, headers=headers)
    assert response.status_code == 400
    html = text_of(response)
    assert NUL_MESSAGE in html
    assert f"“{field or 'received_from'}”" in html
    assert "Error 400" in html  # the styled error page, not a bare one


def test_a_nul_character_in_an_api_query_argument_answers_json(client, user, project):
    from app.services import accounts

    token = accounts.create_api_token(user.email)
    response = client.get(
        f"/api/v1/projects/{project.id}/runs",
        query_string={"state": f"failed{NUL}"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json["field"] == "state"
    assert NUL_MESSAGE in response.json["error"]


def _credential_form(name: str, password: str = "pa55-Word-kept-9f3k") -> dict:  # noqa: S107
    return {
        "schema": "dhis2",
        "name": name,
        "body.base_url": "https://dhis2.example.org",
        "body.username": "admin",
        "body.password": password,
    }


NUL_IN_FORM = {
    "project name": ("/projects/new", "/projects", {"name": f"Malaria{NUL} reporting"}, "name"),
    "project description": (
        "/projects/new",
        "/projects",
        {"name": "Malaria", "description": f"DHIS2 {NUL}"},
        "description",
    ),
    "credential name": (
        "/credentials/new/dhis2",
        "/credentials",
        _credential_form(f"DHIS2{NUL}live"),
        "name",
    ),
    "credential secret": (
        "/credentials/new/dhis2",
        "/credentials",
        _credential_form("DHIS2 live", password=f"pa55{NUL}word"),
        "body.password",
    ),
}


@pytest.mark.parametrize("case", list(NUL_IN_FORM), ids=list(NUL_IN_FORM))
def test_a_nul_character_in_a_form_value_is_refused_and_nothing_is_stored(signed_in, db, case):
    page, action, data, field = NUL_IN_FORM[case]
    token = csrf_token_from(text_of(signed_in.get(page)))
    projects_before = db.session.scalar(select(_db.func.count(Project.id)))
    response = signed_in.post(action, data={**data, "csrf_token": token})
    assert response.status_code == 400
    html = text_of(response)
    assert NUL_MESSAGE in html and f"“{field}”" in html
    assert db.session.scalar(select(_db.func.count(Project.id))) == projects_before
    from app.models import Credential

    assert db.session.scalar(select(_db.func.count(Credential.id))) == 0


def test_a_builder_run_with_a_nul_in_its_custom_input_is_refused_as_json(signed_in, project, flow):
    token = csrf_token_from(text_of(signed_in.get(f"/projects/{project.id}/history")))
    response = signed_in.post(
        f"/projects/{project.id}/workflows/{flow.id}/runs",
        data={"source": "custom", "custom": f'{{"name": "Ami{NUL}na"}}'},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["field"] == "custom"
    assert NUL_MESSAGE in response.json["error"]


def test_webhook_requests_are_left_to_the_webhook_rules(client, flow):
    # /i/... has rules of its own: the browser-page guard never answers for it.
    trigger = flow.triggers[0]
    response = client.post(f"/i/{trigger.id}?note=a{NUL}b", json={"patient": "Amina"})
    assert NUL_MESSAGE not in text_of(response)


def test_the_services_refuse_a_nul_in_a_project_or_credential_name(user, db):
    from app.services import projects
    from app.services.credentials import store
    from app.services.errors import Invalid

    with pytest.raises(Invalid) as problem:
        projects.create_project(user, f"Malaria{NUL}")
    assert problem.value.field == "name" and "NUL character" in problem.value.message
    with pytest.raises(Invalid) as problem:
        store.create_credential(
            user,
            f"DHIS2{NUL}",
            "dhis2",
            {"body.base_url": ["https://x.example.org"], "body.password": ["pa55word"]},
        )
    assert problem.value.field == "name" and "NUL character" in problem.value.message


# -- date filters ----------------------------------------------------------------------------

DATE_RANGE_MESSAGE = "Choose a date from 1900-01-01 to 2999-12-31."
BAD_DATES = {
    "received_to=9999-12-31": ({"received_to": "9999-12-31"}, DATE_RANGE_MESSAGE),
    "received_from=0001-01-01&q=abc": (
        {"received_from": "0001-01-01", "q": "abc"},
        DATE_RANGE_MESSAGE,
    ),
    "received_from=0001-01-01 in logs": (
        {"received_from": "0001-01-01", "q": "abc", "in": "logs"},
        DATE_RANGE_MESSAGE,
    ),
    "activity_to=9999-12-31": ({"activity_to": "9999-12-31"}, DATE_RANGE_MESSAGE),
    "activity_from=0001-01-01": ({"activity_from": "0001-01-01"}, DATE_RANGE_MESSAGE),
    "a day that does not exist": ({"received_from": "2024-02-30"}, "YYYY-MM-DD"),
    "not a date": ({"received_to": "31/12/2024", "q": "abc"}, "YYYY-MM-DD"),
    "from after to": (
        {"received_from": "2024-05-01", "received_to": "2024-04-01"},
        "The end date is before the start date.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATES), ids=list(BAD_DATES))
def test_a_bad_date_filter_is_named_on_the_page_and_the_list_still_shows(
    signed_in, project, run, case
):
    args, message = BAD_DATES[case]
    response = signed_in.get(f"/projects/{project.id}/history", query_string=args)
    assert response.status_code == 422
    html = text_of(response)
    assert message in html and "Showing every work order instead." in html
    assert f'id="wo-{run.work_order_id}"' in html


@pytest.mark.parametrize("case", list(BAD_DATES), ids=list(BAD_DATES))
def test_a_bad_date_filter_on_a_history_fragment_answers_422(signed_in, project, case):
    args, message = BAD_DATES[case]
    for fragment in ("rows", "count", "newer"):
        response = signed_in.get(f"/projects/{project.id}/history/{fragment}", query_string=args)
        assert response.status_code == 422, fragment
        assert message in text_of(response), fragment


def test_the_filter_form_swaps_in_its_message_through_htmx(signed_in, project, run):
    # htmx swaps only 2xx answers: the results fragment says what is wrong with a 200.
    response = signed_in.get(
        f"/projects/{project.id}/history",
        query_string={"received_to": "9999-12-31"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert DATE_RANGE_MESSAGE in text_of(response)


def test_the_newest_and_oldest_allowed_days_work(signed_in, project, run):
    response = signed_in.get(
        f"/projects/{project.id}/history",
        query_string={"received_from": "1900-01-01", "received_to": "2999-12-31", "q": "amina"},
    )
    assert response.status_code == 200
    assert f'id="wo-{run.work_order_id}"' in text_of(response)


# -- page links (cursors) --------------------------------------------------------------------

SOME_ID = "0b5f8a3e-6c1d-4a57-9e0b-7d6c5b4a3f21"
CRAFTED_CURSORS = {
    "the issue's example": b64(["2020-01-01T00:00:00", 5]),
    "not base64": "!!not*base64!!",
    "not ASCII": "é-cursor",
    "not JSON": b64(b"\xff\xfe not json"),
    "an object": b64({"a": 1, "b": 2}),
    "a two-letter string": b64("ab"),
    "a number": b64(5),
    "three items": b64(["2020-01-01T00:00:00+00:00", SOME_ID, 3]),
    "one item": b64(["2020-01-01T00:00:00+00:00"]),
    "nulls": b64([None, None]),
    "nested lists": b64([["2020-01-01"], {"id": SOME_ID}]),
    "not a uuid": b64(["2020-01-01T00:00:00+00:00", "not-a-uuid"]),
    "a uuid as a number": b64(["2020-01-01T00:00:00+00:00", 123456789]),
    "not a timestamp": b64(["yesterday", SOME_ID]),
    "year 1 east of UTC": b64(["0001-01-01T00:00:00+14:00", SOME_ID]),
    "year 9999 west of UTC": b64(["9999-12-31T23:59:59-14:00", SOME_ID]),
    "a NUL inside": b64([f"2020-01-01T00:00:00{NUL}", SOME_ID]),
}


@pytest.mark.parametrize("case", list(CRAFTED_CURSORS), ids=list(CRAFTED_CURSORS))
def test_a_crafted_cursor_restarts_the_page_and_is_refused_by_its_fragments(
    signed_in, project, run, case
):
    cursor = CRAFTED_CURSORS[case]
    base = f"/projects/{project.id}/history"
    page = signed_in.get(base, query_string={"cursor": cursor})
    assert page.status_code == 422
    assert PAGE_LINK_MESSAGE in text_of(page)
    assert f'id="wo-{run.work_order_id}"' in text_of(page)  # the first page instead
    for url, args in ((f"{base}/rows", {"cursor": cursor}), (f"{base}/newer", {"mark": cursor})):
        response = signed_in.get(url, query_string=args)
        assert response.status_code == 422, url
        assert PAGE_LINK_MESSAGE in text_of(response), url


@pytest.mark.parametrize("case", list(CRAFTED_CURSORS), ids=list(CRAFTED_CURSORS))
def test_a_crafted_cursor_in_the_runs_api_answers_422_naming_the_cursor(
    client, user, project, run, case
):
    from app.services import accounts

    token = accounts.create_api_token(user.email)
    response = client.get(
        f"/api/v1/projects/{project.id}/runs",
        query_string={"cursor": CRAFTED_CURSORS[case]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json["field"] == "cursor"
    assert "cursor" in response.json["error"]


def test_the_cursors_ferry_issues_still_page_through(client, user, project, flow, db):
    from app.services import accounts

    for minutes in range(3):
        hf.work_order(flow, received=hf.at(minutes_ago=10 - minutes))
    token = accounts.create_api_token(user.email)
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get(f"/api/v1/projects/{project.id}/runs?limit=2", headers=headers).json
    rest = client.get(
        f"/api/v1/projects/{project.id}/runs",
        query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=headers,
    ).json
    assert len(first["runs"]) == 2 and len(rest["runs"]) == 1
    assert rest["next_cursor"] is None


# -- a database error inside a request ------------------------------------------------------


def test_a_failed_statement_still_shows_the_styled_error_page(signed_in, app, monkeypatch, db):
    # A statement that fails in PostgreSQL leaves the session refusing every query until it
    # is rolled back; the error page reads the signed-in user again (expired by an earlier
    # commit), so without a rollback first it failed too and left a bare 500.
    from app.services import projects

    def broken_create(owner, name, description=""):
        _db.session.commit()  # an earlier step of the service, which expires loaded rows
        _db.session.add(Project(name=name, description=description))
        _db.session.flush()
        _db.session.execute(_db.text("SELECT 1 / 0"))

    monkeypatch.setattr(projects, "create_project", broken_create)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    token = csrf_token_from(text_of(signed_in.get("/projects/new")))
    response = signed_in.post("/projects", data={"name": "Malaria", "csrf_token": token})
    assert response.status_code == 500
    html = text_of(response)
    assert "Something went wrong on our side." in html
    assert "Error 500" in html and "Back to projects" in html
    assert db.session.scalar(select(Project.id).where(Project.name == "Malaria")) is None


def test_when_even_the_rollback_fails_the_error_still_says_what_happened(
    signed_in, app, monkeypatch, db
):
    # The database went away mid-request: no styled page (it needs the signed-in user),
    # but still the status and the explanation, never a bare "Internal Server Error".
    from app.services import projects

    def broken_create(owner, name, description=""):
        _db.session.commit()
        _db.session.execute(_db.text("SELECT 1 / 0"))

    def dead_rollback():
        raise ConnectionError("the database is away")

    token = csrf_token_from(text_of(signed_in.get("/projects/new")))
    monkeypatch.setattr(projects, "create_project", broken_create)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(_db.session, "rollback", dead_rollback)
    response = signed_in.post("/projects", data={"name": "Malaria", "csrf_token": token})
    assert response.status_code == 500
    assert "Error 500: Something went wrong on our side." in text_of(response)
