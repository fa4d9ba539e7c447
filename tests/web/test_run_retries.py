"""Automatic retries on the run page and the history list: each attempt with its number and
error, the next attempt's time, and "Retry now" / "Give up" for editors only."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.extensions import db
from app.models import Project, Role, RunState
from tests import factories
from tests.services.runs.test_retries import refreshed, waiting_run
from tests.support import csrf_token_from, log_in


@pytest.fixture
def waiting(db, client, user):
    return waiting_run(client, user, due_in_s=90)


def page(client, run) -> str:
    response = client.get(f"/projects/{run.project_id}/runs/{run.id}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def post(client, run, action: str):
    token = csrf_token_from(client.get(f"/projects/{run.project_id}/runs/{run.id}").get_data(True))
    url = f"/projects/{run.project_id}/runs/{run.id}/{action}"
    return client.post(url, data={"csrf_token": token})


def member_client(client, run, role: Role):
    person = factories.user()
    factories.member(db.session.get(Project, run.project_id), person, role)
    client.get("/logout")
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    return client


def test_a_waiting_run_shows_its_attempt_error_and_next_attempt(signed_in, waiting):
    html = page(signed_in, waiting)
    assert 'data-state="waiting to retry"' in html
    next_at = r"Next attempt at <time[^>]*>\d\d:\d\d:\d\d</time> UTC \(in (8\d|90) s\)"
    assert re.search(next_at, html)
    assert "will be tried again (attempt 2)" in html
    assert re.search(r'data-attempt="1">attempt 1</span>', html)
    # The attempt's error in plain words, as other step errors are shown.
    assert re.search(r"data-attempt-error>[^<]*503", html)
    assert "Retry now" in html and "Give up" in html


def test_a_viewer_sees_the_wait_but_no_buttons_and_is_refused(client, user, waiting):
    viewer = member_client(client, waiting, Role.VIEWER)
    html = page(viewer, waiting)
    assert "Next attempt at" in html
    assert "Retry now" not in html and "Give up" not in html
    for action in ("retry-now", "give-up"):
        assert post(viewer, waiting, action).status_code == 403
    assert refreshed(waiting.id).state is RunState.AVAILABLE


def test_an_editor_retries_now(client, user, waiting):
    editor = member_client(client, waiting, Role.EDITOR)
    response = post(editor, waiting, "retry-now")
    assert response.status_code == 302
    html = page(editor, waiting)
    assert "The next attempt starts as soon as a worker is free." in html
    assert "(due now)" in html


def test_giving_up_ends_the_run_failed_and_says_who(signed_in, user, waiting):
    assert post(signed_in, waiting, "give-up").status_code == 302
    html = page(signed_in, waiting)
    assert 'data-state="failed"' in html and "Next attempt at" not in html
    assert f"Automatic retries were given up by {user.display_name}" in html
    assert "503" in html  # the run's error is the last attempt's


@pytest.mark.parametrize("action", ["retry-now", "give-up"])
def test_a_run_that_is_not_waiting_answers_409_with_a_sentence(signed_in, waiting, action):
    assert post(signed_in, waiting, "give-up").status_code == 302
    response = post(signed_in, waiting, action)
    assert response.status_code == 409
    text = unescape(response.get_data(as_text=True))
    assert "this run is not waiting for an automatic retry" in text
    assert "it has already ended (failed)" in text


def test_the_history_list_says_waiting_to_retry(signed_in, waiting):
    response = signed_in.get(f"/projects/{waiting.project_id}/history")
    html = response.get_data(as_text=True)
    row = html[html.index(f'id="wo-{waiting.work_order_id}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-state="waiting to retry"' in row and "waiting to retry" in row


def test_the_api_shows_attempts_and_steers_a_waiting_run(api, waiting):
    body = api.get(f"/runs/{waiting.id}").get_json()
    assert body["state"] == "available" and body["available_at"] is not None
    assert [(s["attempt"], s["retry_at"] is not None) for s in body["steps"]] == [(1, True)]
    assert api.post(f"/runs/{waiting.id}/retry_now").get_json()["state"] == "available"
    ended = api.post(f"/runs/{waiting.id}/give_up")
    assert ended.status_code == 200 and ended.get_json()["state"] == "failed"
    again = api.post(f"/runs/{waiting.id}/give_up")
    assert again.status_code == 409
    assert "not waiting for an automatic retry" in again.get_json()["error"]
