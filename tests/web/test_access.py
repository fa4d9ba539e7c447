"""One authorization path (app/web/access.py): objects are loaded within the project of the URL
(another project's workflow or run answers 404, even to a member of the project in the URL,
before anything is read or stored), and a member refused for a weak role is told which role
the action needs. The route x role matrix (tests/authz) checks every route; these tests pin
the gaps it found, one promise each."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from app.models import Dataclip, DataclipType, Role, Run
from app.services.workflows import export, store
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in

HX = {"HX-Request": "true"}


def sign_in_as(client, person):
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    return client


def token(client, project) -> str:
    """A CSRF token from a page of `project` the client may open."""
    return csrf_token_from(client.get(f"/projects/{project.id}/workflows/new").get_data(True))


def stranger_with_project(client):
    """A signed-in user who owns a project of their own and is not in the test's project."""
    stranger = factories.user()
    own = factories.project(stranger, "Stranger's project")
    sign_in_as(client, stranger)
    return own, {**HX, "X-CSRFToken": token(client, own)}


def a_run(db, flow) -> Run:
    order = hf.work_order(flow, state="success", logs=[("info", "fetched 3 cases")])
    return db.session.scalar(select(Run).where(Run.work_order_id == order.id))


def saved_inputs(db) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Dataclip).where(Dataclip.type == DataclipType.SAVED_INPUT)
    )


# --- objects of another project, under the URL of one's own ---------------------------------


def test_stored_inputs_of_another_projects_workflow_answer_404(client, flow):
    own, _ = stranger_with_project(client)
    reply = client.get(f"/projects/{own.id}/workflows/{flow.id}/inputs", headers=HX)
    assert reply.status_code == 404


def test_saving_a_test_input_under_another_projects_workflow_answers_404_and_keeps_nothing(
    client, db, flow
):
    own, headers = stranger_with_project(client)
    before = saved_inputs(db)
    reply = client.post(
        f"/projects/{own.id}/workflows/{flow.id}/inputs",
        data={"name": "Smuggled", "source": "custom", "custom": '{"data": {}}'},
        headers=headers,
    )
    assert reply.status_code == 404
    assert saved_inputs(db) == before


def test_the_status_of_another_projects_run_answers_404_not_a_redirect(client, db, flow):
    run = a_run(db, flow)
    own, _ = stranger_with_project(client)
    url = f"/projects/{own.id}/workflows/{flow.id}/runs/{run.id}/status"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=HX).status_code == 404


def test_a_step_tab_of_another_projects_run_answers_404(client, db, flow):
    run = a_run(db, flow)
    own, _ = stranger_with_project(client)
    url = f"/projects/{own.id}/workflows/{flow.id}/runs/{run.id}/step"
    assert client.get(url, headers=HX).status_code == 404
    step = store.get_workflow(flow.id).steps[0]
    assert client.get(f"{url}?step_id={step.id}&tab=logs", headers=HX).status_code == 404


def test_saving_or_checking_another_projects_workflow_answers_404_before_reading_the_body(
    client, flow
):
    own, headers = stranger_with_project(client)
    base = f"/projects/{own.id}/workflows/{flow.id}"
    body = {"document": export.export_document(flow), "positions": {}, "lock_version": 1}
    for path in ("save", "validate"):
        assert client.post(f"{base}/{path}", json=body, headers=headers).status_code == 404
        assert client.post(f"{base}/{path}", data="{", headers=headers).status_code == 404


def test_a_run_of_another_workflow_of_the_same_project_answers_404(signed_in, db, project, flow):
    run = a_run(db, flow)
    other = hf.workflow(project, "Other flow")
    base = f"/projects/{project.id}/workflows/{other.id}/runs/{run.id}"
    assert signed_in.get(f"{base}/status", headers=HX).status_code == 404
    assert signed_in.get(f"{base}/step", headers=HX).status_code == 404


# --- a weak role is told what it needs ------------------------------------------------------


def test_a_viewer_refused_is_told_which_role_the_page_needs(client, project):
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    sign_in_as(client, viewer)
    reply = client.get(f"/projects/{project.id}/workflows/new")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 403
    assert "needs the editor role" in page and "yours is viewer" in page


def test_an_outsider_is_not_told_that_the_project_exists(client, project):
    sign_in_as(client, factories.user())
    reply = client.get(f"/projects/{project.id}/workflows/new")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 404
    assert project.name not in page and "role" not in page


# --- without a session ----------------------------------------------------------------------


def test_an_htmx_request_without_a_session_sends_the_whole_page_to_sign_in(client, project):
    """A fragment (a poll after the session ended) must not get the sign-in form swapped into
    it: 401 and HX-Redirect to the sign-in page, coming back to the page the browser shows."""
    page = f"http://localhost/projects/{project.id}/history?state=failed"
    reply = client.get(
        f"/projects/{project.id}/history/rows", headers={**HX, "HX-Current-URL": page}
    )
    assert reply.status_code == 401
    target = urlsplit(reply.headers["HX-Redirect"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [f"/projects/{project.id}/history?state=failed"]


def test_an_htmx_request_from_another_site_page_comes_back_to_the_fragment_url(client, project):
    reply = client.get(
        f"/projects/{project.id}/history/rows",
        headers={**HX, "HX-Current-URL": "https://evil.example/phish"},
    )
    target = urlsplit(reply.headers["HX-Redirect"])
    assert reply.status_code == 401
    assert parse_qs(target.query)["next"] == [f"/projects/{project.id}/history/rows"]


def test_a_page_without_a_session_still_redirects_to_sign_in_and_back(client, project):
    reply = client.get(f"/projects/{project.id}/history")
    target = urlsplit(reply.headers["Location"])
    assert reply.status_code == 302 and target.path == "/login"
    assert parse_qs(target.query)["next"] == [f"/projects/{project.id}/history"]
