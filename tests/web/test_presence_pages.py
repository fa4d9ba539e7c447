"""The builder's presence heartbeat: each tab says it is open and gets back the others (names,
initials, editing or viewing), a closing tab leaves at once, and bad tokens, crafted ids,
another project's workflow or a Redis that is down never answer 500."""

from __future__ import annotations

import re
import uuid

import pytest

from app.extensions import connect_redis
from app.models import Role
from tests import factories
from tests.support import csrf_token_from, free_port, log_in


@pytest.fixture
def flow(project):
    return factories.workflow(project, name="Patient sync")


def person(project, role: Role, name: str):
    user = factories.user()
    user.name = name
    factories.member(project, user, role)
    return user


def client_of(app, user):
    client = app.test_client()
    log_in(client, user.email, factories.PASSWORD)
    return client


def beat(client, flow, tab: str = "tab1", project_id=None, workflow_id=None):
    page = f"/projects/{flow.project_id}/workflows/{flow.id}"
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    url = f"/projects/{project_id or flow.project_id}/workflows/{workflow_id or flow.id}/presence"
    return client.post(url, data={"tab": tab}, headers={"X-CSRFToken": token, "HX-Request": "true"})


def leave(client, flow, tab: str):
    page = f"/projects/{flow.project_id}/workflows/{flow.id}"
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    url = f"{page}/presence/leave"
    return client.post(url, data={"tab": tab, "csrf_token": token})


def shown(reply) -> list[tuple[str, str]]:
    html = reply.get_data(as_text=True)
    return re.findall(r'data-present="([^"]+)" data-mode="(\w+)"', html)


def test_editors_and_viewers_see_each_other(app, signed_in, project, flow):
    amina = person(project, Role.EDITOR, "Amina Diallo")
    vera = person(project, Role.VIEWER, "Vera Viewer")
    assert shown(beat(client_of(app, amina), flow)) == []
    seen = beat(client_of(app, vera), flow)
    assert shown(seen) == [("Amina Diallo", "editing")]
    assert "Amina is also editing" in seen.get_data(as_text=True)
    mine = beat(signed_in, flow)
    assert shown(mine) == [("Amina Diallo", "editing"), ("Vera Viewer", "viewing")]
    html = mine.get_data(as_text=True)
    assert "2 others have this open" in html and ">AD<" in html and ">VV<" in html


def test_two_tabs_of_one_person_count_once_and_a_closed_tab_leaves(app, signed_in, project, flow):
    amina = person(project, Role.EDITOR, "Amina Diallo")
    hers = client_of(app, amina)
    beat(hers, flow, "first")
    beat(hers, flow, "second")
    assert shown(beat(signed_in, flow)) == [("Amina Diallo", "editing")]
    assert leave(hers, flow, "first").status_code == 204
    assert shown(beat(signed_in, flow)) == [("Amina Diallo", "editing")]
    leave(hers, flow, "second")
    assert shown(beat(signed_in, flow)) == []


@pytest.mark.parametrize("tab", ["", "a" * 41, "x:y", "tab\u00e9", "<script>"])
def test_a_tab_token_the_page_never_makes_is_a_bad_request(signed_in, flow, tab):
    assert beat(signed_in, flow, tab).status_code == 400
    assert leave(signed_in, flow, tab).status_code == 400


def test_crafted_ids_and_another_projects_workflow_are_not_found(signed_in, flow):
    assert beat(signed_in, flow, workflow_id=uuid.uuid4()).status_code == 404
    elsewhere = factories.project(factories.user(), "Somebody else's")
    theirs = factories.workflow(elsewhere, name="Theirs")
    assert beat(signed_in, flow, workflow_id=theirs.id).status_code == 404
    assert beat(signed_in, flow, project_id=elsewhere.id).status_code == 404


def test_redis_down_shows_nobody(app, signed_in, project, flow):
    amina = person(project, Role.EDITOR, "Amina Diallo")
    beat(client_of(app, amina), flow)
    saved = app.extensions.get("ferry_redis")
    app.extensions["ferry_redis"] = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        reply = beat(signed_in, flow)
        assert reply.status_code == 200 and shown(reply) == []
        assert leave(signed_in, flow, "tab1").status_code == 204
    finally:
        app.extensions["ferry_redis"] = saved
