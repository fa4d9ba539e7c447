"""A refused save explains itself: the builder's and the API's 409 answers name the current
version and who saved it, and the conflict panel shows what they changed (a body's changed
line); crafted versions and ids, and another project's workflow, get 4xx, never 500."""

from __future__ import annotations

import uuid

import pytest

from app.models import Role
from app.services import accounts
from app.services.workflows import export, store
from tests import factories
from tests.support import csrf_token_from, log_in


@pytest.fixture
def amina(db, project):
    person = factories.user()
    person.name = "Amina Diallo"
    factories.member(project, person, Role.EDITOR)
    return person


@pytest.fixture
def workflow(project, amina):
    """Version 1 by the owner; version 2 by Amina, who changed the step's body."""
    first = factories.workflow(project, name="Patient sync")
    document = export.export_document(first)
    document["jobs"]["first"]["body"] = 'log("Amina was here")\n'
    return store.replace_workflow(first.id, document, expected_version=1, actor_id=amina.id)


def page_of(flow) -> str:
    return f"/projects/{flow.project_id}/workflows/{flow.id}"


def save_from_version_1(client, flow):
    token = csrf_token_from(client.get(page_of(flow)).get_data(as_text=True))
    document = export.export_document(flow)
    document["jobs"]["first"]["name"] = "Renamed by me"
    return client.post(
        f"{page_of(flow)}/save",
        json={"document": document, "positions": {}, "lock_version": 1},
        headers={"X-CSRFToken": token},
    )


def test_a_stale_save_is_refused_naming_the_current_version_and_who_saved(signed_in, workflow):
    reply = save_from_version_1(signed_in, workflow)
    assert reply.status_code == 409
    body = reply.get_json()
    assert body["conflict"] is True and "Someone else saved" in body["error"]
    assert (body["your_version"], body["current_version"]) == (1, 2)
    assert body["saved_by"] == "Amina Diallo" and body["saved_at"]
    assert store.get_workflow(workflow.id).steps[0].name == "First step"  # nothing overwritten


def test_the_conflict_panel_shows_who_when_and_the_changed_line(signed_in, workflow):
    reply = signed_in.get(f"{page_of(workflow)}/conflict?since=1", headers={"HX-Request": "true"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "Amina Diallo</strong> saved version\n      <strong>2</strong>" in html
    assert "You started from version <strong>1</strong>" in html
    assert "+log(&#34;Amina was here&#34;)" in html
    assert "Reload their version (your changes are lost)" in html and "Keep editing" in html
    assert " UTC" in html  # the exact time, in the user's clock


def test_the_panel_follows_the_users_clock(signed_in, workflow, user, db):
    user.time_format = "12h"
    db.session.commit()
    html = signed_in.get(f"{page_of(workflow)}/conflict?since=1").get_data(as_text=True)
    assert " AM UTC" in html or " PM UTC" in html


def test_the_latest_version_is_no_conflict(signed_in, workflow):
    reply = signed_in.get(f"{page_of(workflow)}/conflict?since=2")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "Version 2 is still the latest" in html
    assert "Reload their version" not in html


@pytest.mark.parametrize("since", ["", "abc", "-1", "1.5", "%00", "9" * 30, "1 OR 1=1"])
def test_a_version_that_is_not_a_number_is_a_bad_request(signed_in, workflow, since):
    reply = signed_in.get(f"{page_of(workflow)}/conflict?since={since}")
    assert reply.status_code == 400
    if since != "%00":  # a NUL character is refused before any view, in its own words
        assert "?since=<number>" in reply.get_data(as_text=True)


@pytest.mark.parametrize("since", ["0", "3", "999999999"])
def test_a_version_the_workflow_never_had_is_not_found(signed_in, workflow, since):
    assert signed_in.get(f"{page_of(workflow)}/conflict?since={since}").status_code == 404


def test_crafted_ids_and_another_projects_workflow_are_not_found(signed_in, workflow, user):
    assert (
        signed_in.get(f"{page_of(workflow)[:-36]}{uuid.uuid4()}/conflict?since=1").status_code
        == 404
    )
    elsewhere = factories.project(factories.user(), "Somebody else's")
    theirs = factories.workflow(elsewhere, name="Theirs")
    assert signed_in.get(f"{page_of(theirs)}/conflict?since=1").status_code == 404
    mine_under_theirs = f"/projects/{elsewhere.id}/workflows/{workflow.id}/conflict?since=1"
    assert signed_in.get(mine_under_theirs).status_code == 404
    assert signed_in.get(f"/projects/{workflow.project_id}/workflows/x/conflict").status_code == 404


def test_viewers_cannot_ask(client, workflow, project):
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    log_in(client, viewer.email, factories.PASSWORD)
    assert client.get(f"{page_of(workflow)}/conflict?since=1").status_code == 403


def test_the_api_409_names_the_current_version_and_who_saved(client, user, workflow):
    token = accounts.create_api_token(user.email)
    document = export.export_document(store.get_workflow(workflow.id))
    reply = client.put(
        f"/api/v1/workflows/{workflow.id}?lock_version=1",
        json=document,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 409
    body = reply.get_json()
    assert body["status"] == 409 and "Someone else saved" in body["error"]
    assert body["current_version"] == 2 and body["your_version"] == 1
    assert body["saved_by"] == "Amina Diallo" and body["saved_at"]
    # A lock_version the workflow never had still answers 409, without the details.
    reply = client.put(
        f"/api/v1/workflows/{workflow.id}?lock_version=77",
        json=document,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 409 and "saved_by" not in reply.get_json()


def test_the_builder_page_holds_the_conflict_modal_and_presence_slot(signed_in, workflow):
    html = signed_in.get(page_of(workflow)).get_data(as_text=True)
    assert 'id="save-conflict-modal"' in html and f"{page_of(workflow)}/conflict" in html
    assert 'id="studio-presence"' in html and f"{page_of(workflow)}/presence" in html


def test_the_openapi_document_describes_the_409(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    stale = spec["paths"]["/workflows/{workflow_id}"]["put"]["responses"]["409"]
    fields = stale["content"]["application/json"]["schema"]["properties"]
    assert {"your_version", "current_version", "saved_by", "saved_at"} <= set(fields)
