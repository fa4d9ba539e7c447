"""Run limits on the project settings page and the API (admins change them, everyone else
reads them; a bad value is a 422 naming the maximum, nothing saved), and the payload limit
where requests arrive: a webhook body over it is a 413 that stores nothing, and so is a
manual run's custom input in the builder (a 422 under the input)."""

from __future__ import annotations

import io
from html import unescape

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Dataclip, Project, Role, Run, WorkOrder
from app.services import project_limits
from tests import factories
from tests.support import csrf_token_from

NO_LIMITS = {"run_timeout_s": "", "step_memory_mb": "", "max_payload_kb": ""}


def page_url(project) -> str:
    return f"/projects/{project.id}/settings"


def save(client, project, **data):
    token = csrf_token_from(client.get(page_url(project)).get_data(as_text=True))
    form = {**NO_LIMITS, **data, "csrf_token": token}
    return client.post(f"{page_url(project)}/limits", data=form)


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def stored(db, project) -> Project:
    db.session.expire_all()
    return db.session.get(Project, project.id)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- the settings page ----------------------------------------------------------------------


def test_the_section_shows_the_servers_defaults_and_maxima(team, project):
    html = text(team["admin"].get(page_url(project)))
    assert 'id="limits"' in html and "Run limits" in html
    assert "Empty: the server's default, 300 seconds. At most 3,600 seconds." in html
    assert "Empty: the server's default, 512 MB. At most 2,048 MB." in html
    assert "At most 10,240 KB." in html
    assert "Do not keep print/log output" in html and "Save run limits" in html


def test_an_admin_saves_limits_and_the_change_is_audited(db, team, project):
    reply = save(
        team["admin"], project, run_timeout_s="120", step_memory_mb="256", discard_logs="y"
    )
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/settings#limits")
    saved = stored(db, project)
    assert (saved.run_timeout_s, saved.step_memory_mb, saved.max_payload_kb) == (120, 256, None)
    assert saved.discard_logs is True
    html = text(team["admin"].get(page_url(project)))
    assert "Run limits saved." in html and 'value="120"' in html and 'value="256"' in html
    entry = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.event == "limits_changed", AuditEvent.project_id == project.id
        )
    )
    assert entry.project_id == project.id
    assert entry.changes["run_timeout_s"] == [None, 120]


@pytest.mark.parametrize(
    ("field", "typed", "words"),
    [
        ("run_timeout_s", "0", "Run time limit must be at least 1"),
        ("run_timeout_s", "-30", "Run time limit must be at least 1"),
        ("run_timeout_s", "99999", "Run time limit can be at most 3,600 seconds on this server"),
        ("step_memory_mb", "9000", "Memory per step can be at most 2,048 MB on this server"),
        ("max_payload_kb", "a lot", "“a lot” is not a whole number of KB from 1 to 10,240"),
        ("step_memory_mb", "1" * 41, "Give a whole number, or leave it empty for the default."),
    ],
)
def test_a_bad_value_comes_back_next_to_its_box_and_nothing_is_saved(
    db, team, project, field, typed, words
):
    reply = save(team["admin"], project, **{"run_timeout_s": "60", field: typed})
    html = text(reply)
    assert reply.status_code == 422
    assert words in html
    assert f'id="{field}-error"' in html and "is-invalid" in html
    assert stored(db, project).run_timeout_s is None
    assert (
        db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.event == "limits_changed", AuditEvent.project_id == project.id
            )
        )
        is None
    )


def test_a_nul_character_is_refused_before_anything_is_read(db, team, project):
    reply = save(team["admin"], project, run_timeout_s="60", max_payload_kb="5\x00")
    assert reply.status_code == 400
    assert "The value of “max_payload_kb” contains a NUL character" in text(reply)
    assert stored(db, project).run_timeout_s is None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_read_the_limits_but_cannot_change_them(db, team, project, role):
    html = text(team[role].get(page_url(project)))
    assert "Run limits" in html and "Save run limits" not in html
    assert save(team[role], project, run_timeout_s="10", discard_logs="y").status_code == 403
    saved = stored(db, project)
    assert (saved.run_timeout_s, saved.discard_logs) == (None, False)


# --- the API --------------------------------------------------------------------------------


def test_the_api_reads_and_replaces_the_limits(db, api, project):
    reply = api.get(f"/projects/{project.id}/run_limits")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["run_timeout_s"] is None and body["discard_logs"] is False
    assert body["instance"]["run_timeout_s"] == {"default": 300, "maximum": 3600}
    sent = {"run_timeout_s": 90, "max_payload_kb": 16, "discard_logs": True}
    reply = api.put(f"/projects/{project.id}/run_limits", json=sent)
    assert reply.status_code == 200
    assert {key: reply.get_json()[key] for key in sent} == sent
    assert stored(db, project).max_payload_kb == 16


@pytest.mark.parametrize(
    ("sent", "field", "words"),
    [
        ({"run_timeout_s": 4000}, "run_timeout_s", "at most 3,600 seconds"),
        ({"step_memory_mb": -1}, "step_memory_mb", "must be at least 1"),
        ({"step_memory_mb": 1.5}, "step_memory_mb", "give a whole number of MB"),
        ({"discard_logs": "yes"}, "discard_logs", "discard_logs must be true or false"),
        ({"run_timeout": 60}, "run_timeout", "Unknown key 'run_timeout'"),
    ],
)
def test_the_api_refuses_a_bad_value_naming_it_and_saves_nothing(
    db, api, project, sent, field, words
):
    reply = api.put(f"/projects/{project.id}/run_limits", json={"max_payload_kb": 8, **sent})
    assert reply.status_code == 422
    body = reply.get_json()
    assert words in str(body) and field in str(body)
    assert stored(db, project).max_payload_kb is None


def test_an_editors_token_may_read_but_not_change_the_limits(app, db, client, project):
    from app.services import accounts

    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    auth = {"Authorization": f"Bearer {accounts.create_api_token(editor.email)}"}
    url = f"/api/v1/projects/{project.id}/run_limits"
    assert client.get(url, headers=auth).status_code == 200
    assert client.put(url, json={"run_timeout_s": 5}, headers=auth).status_code == 403
    assert stored(db, project).run_timeout_s is None


# --- the payload limit where requests arrive ------------------------------------------------


@pytest.fixture
def hook(db, user, project):
    """A saved workflow with a webhook trigger in `project`, whose payload limit is 1 KB."""
    project_limits.update_limits(user, project.id, {**NO_LIMITS, "max_payload_kb": "1"}, False)
    return factories.workflow(project)


def test_a_webhook_body_over_the_projects_limit_is_refused_and_nothing_is_stored(db, client, hook):
    before = (count(db, WorkOrder), count(db, Dataclip), count(db, Run))
    reply = client.post(f"/i/{hook.triggers[0].id}", json={"note": "x" * 3000})
    assert reply.status_code == 413
    assert reply.get_json()["error"] == (
        "The body is 3 KB; this project accepts at most 1 KB. Nothing was saved."
    )
    assert (count(db, WorkOrder), count(db, Dataclip), count(db, Run)) == before


def test_a_chunked_webhook_body_over_the_limit_is_measured_as_it_is_read(db, client, hook):
    before = count(db, WorkOrder)
    reply = client.post(
        f"/i/{hook.triggers[0].id}",
        input_stream=io.BytesIO(b'{"note": "' + b"y" * 2500 + b'"}'),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert reply.status_code == 413
    assert reply.get_json()["error"].startswith("The body is 3 KB; this project accepts at most")
    assert count(db, WorkOrder) == before


def test_a_webhook_body_within_the_limit_is_accepted(db, client, hook):
    reply = client.post(f"/i/{hook.triggers[0].id}", json={"note": "x" * 900})
    assert reply.status_code == 200 and reply.get_json()["run_id"]


def test_a_manual_runs_input_over_the_limit_is_refused_under_the_input(db, team, project, hook):
    builder = f"/projects/{project.id}/workflows/{hook.id}"
    client = team["editor"]
    token = csrf_token_from(client.get(builder).get_data(as_text=True))
    before = count(db, Run)
    reply = client.post(
        f"{builder}/runs",
        data={"source": "custom", "custom": '{"data": "' + "z" * 2048 + '"}'},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert reply.status_code == 422
    assert reply.headers["HX-Retarget"] == "#run-input-error"
    assert "The input is 3 KB; this project accepts at most 1 KB." in text(reply)
    assert count(db, Run) == before


def test_an_api_runs_input_over_the_limit_is_refused_and_no_run_starts(db, api, hook):
    before = count(db, Run)
    reply = api.post(f"/workflows/{hook.id}/runs", json={"input": {"data": "é" * 1000}})
    assert reply.status_code == 422
    assert "The input is 2 KB; this project accepts at most 1 KB." in str(reply.get_json())
    assert count(db, Run) == before
    small = api.post(f"/workflows/{hook.id}/runs", json={"input": {"data": "ok"}})
    assert small.status_code == 201
