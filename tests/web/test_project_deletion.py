"""Deleting a project and cancelling it on the pages: the settings form says the purge date,
the projects list shows the project under "Scheduled for deletion" to its owner and to
superusers with a Cancel button, and every bad cancel is answered 4xx with a clear message."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from html import unescape

import pytest

from app.models import Project, Role
from app.models.base import utcnow
from app.services.deletions import projects as deletion
from tests import factories
from tests.support import csrf_token_from, log_in


def signed_in_as(app, person):
    client = app.test_client()
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    return client


@pytest.fixture
def owner(app, user):
    return signed_in_as(app, user)


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def cancel(client, project):
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    return client.post(f"/projects/{project.id}/deletion/cancel", data={"csrf_token": token})


def delete(client, project, typed: str):
    page = client.get(f"/projects/{project.id}/settings").get_data(as_text=True)
    return client.post(
        f"/projects/{project.id}/settings/delete",
        data={"confirm_name": typed, "csrf_token": csrf_token_from(page)},
    )


def stored(db, project) -> Project:
    db.session.expire_all()
    return db.session.get(Project, project.id)


def test_the_delete_form_says_when_the_data_goes_and_that_the_owner_can_cancel(owner, project):
    html = text(owner.get(f"/projects/{project.id}/settings"))
    day = f"{utcnow() + timedelta(days=7):%d %b %Y}"
    assert "Its data is removed on <strong" in html and day in html
    assert "until then the owner can cancel" in html


def test_without_a_grace_period_the_form_says_there_is_no_way_back(
    app, owner, project, monkeypatch
):
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], deletion_grace_days=0)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)
    html = text(owner.get(f"/projects/{project.id}/settings"))
    assert "Its data is removed at once: this cannot be undone." in html


@pytest.mark.parametrize("typed", ["Clinic intake\x00", "\x00"])
def test_a_typed_name_with_a_nul_character_deletes_nothing(db, owner, project, typed):
    reply = delete(owner, project, typed)
    assert reply.status_code in (400, 422)
    assert stored(db, project).deletion_requested_at is None


def test_the_owner_sees_the_scheduled_deletion_and_cancels_it(db, app, owner, project, user):
    flow = factories.workflow(project, name="Patient sync")
    assert delete(owner, project, "Clinic intake").status_code == 302
    listing = text(owner.get("/"))
    section = listing.split('id="scheduled-deletions"', 1)[1]
    assert "Clinic intake" in section and "Its data is removed on" in section
    assert "Cancel deletion" in section
    # Others in the project see nothing of it; a superuser does.
    colleague = factories.user()
    factories.member(project, colleague, Role.ADMIN)
    assert "Scheduled for deletion" not in text(signed_in_as(app, colleague).get("/"))
    superuser = signed_in_as(app, factories.user(superuser=True))
    assert "Clinic intake" in text(superuser.get("/")).split('id="scheduled-deletions"', 1)[1]

    reply = cancel(owner, project)

    assert reply.status_code == 302 and reply.headers["Location"] == f"/projects/{project.id}"
    page = text(owner.get(reply.headers["Location"]))
    assert "Project “Clinic intake” is back, as it was before the deletion." in page
    assert "Patient sync" in page
    assert owner.get(f"/projects/{project.id}/workflows/{flow.id}").status_code == 200
    assert "Scheduled for deletion" not in text(owner.get("/"))


def test_members_other_than_the_owner_and_strangers_get_404(db, app, owner, project, user):
    deletion.request_deletion(user, project.id, "Clinic intake")
    colleague = factories.user()
    factories.member(project, colleague, Role.ADMIN)
    for person in (colleague, factories.user()):
        reply = cancel(signed_in_as(app, person), project)
        assert reply.status_code == 404
        assert "removed for good" in text(reply)
    assert stored(db, project).deletion_requested_at is not None
    anonymous = app.test_client()
    reply = anonymous.post(f"/projects/{project.id}/deletion/cancel")
    assert reply.status_code in (302, 400)
    assert stored(db, project).deletion_requested_at is not None


def test_a_cancel_without_the_csrf_token_is_refused(db, owner, project, user):
    deletion.request_deletion(user, project.id, "Clinic intake")
    assert owner.post(f"/projects/{project.id}/deletion/cancel").status_code == 400
    assert stored(db, project).deletion_requested_at is not None


def test_cancelling_too_late_a_purged_or_a_live_project_says_why(db, owner, project, user):
    reply = cancel(owner, project)
    assert reply.status_code == 409 and "is not scheduled for deletion" in text(reply)
    deletion.request_deletion(user, project.id, "Clinic intake")
    project.deletion_due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "Its data is being removed now" in text(owner.get("/"))
    reply = cancel(owner, project)
    assert reply.status_code == 409 and "can no longer be restored" in text(reply)
    deletion.purge(project.id)
    reply = cancel(owner, project)
    assert reply.status_code == 404 and "removed for good" in text(reply)
    for bad in ("not-a-uuid", "1 OR 1=1"):
        assert owner.post(f"/projects/{bad}/deletion/cancel").status_code == 404
