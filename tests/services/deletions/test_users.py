"""Deleting a user (app/services/deletions/users.py): stopped at once (disabled, signed out,
API tokens revoked), kept again by a cancel that restores only what the deletion changed,
purged by a job after the grace period (credentials destroyed, each audited), the request's
refusals checked again at purge time, and the audit trail kept."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Credential, ProjectCredential, ProjectMember, Role, User
from app.models.base import utcnow
from app.services import accounts, invitations, members, project_settings, users
from app.services.deletions import due, jobs
from app.services.deletions import users as deletion
from app.services.errors import Conflict, Invalid, NotFound
from tests import factories


@pytest.fixture
def admin(db):
    return factories.user(superuser=True, email="root@example.org")


@pytest.fixture
def person(db):
    return accounts.create_user("vera@example.org", factories.PASSWORD, name="Vera Lopes")


def audit_entries(db, item_id, event: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.item_id == item_id)
    if event:
        query = query.where(AuditEvent.event == event)
    return list(db.session.scalars(query))


def make_due(db, user_id) -> None:
    """Move the end of the grace period into the past, as if the days had gone by."""
    db.session.get(User, user_id).deletion_due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_nobody_deletes_themselves_or_the_last_active_superuser(db, admin):
    with pytest.raises(Conflict, match="your own account"):
        deletion.request_deletion(admin, admin.id, admin.email)
    other = factories.user(superuser=True)
    users.disable(admin, other.id)
    with pytest.raises(Conflict, match="only active superuser"):
        deletion.request_deletion(other, admin.id, admin.email)
    assert db.session.get(User, admin.id).deletion_requested_at is None


def test_deleting_an_owner_is_refused_naming_the_projects(db, admin, person):
    factories.project(person, "Clinic intake")
    factories.project(person, "HMIS sync")
    with pytest.raises(Conflict) as error:
        deletion.request_deletion(admin, person.id, person.email)
    assert "“Clinic intake”, “HMIS sync”" in error.value.message
    assert "Hand ownership" in error.value.message
    assert not db.session.get(User, person.id).disabled


@pytest.mark.parametrize("typed", ["", "someone-else@example.org", "vera@example.org\x00"])
def test_deleting_needs_the_email_typed(db, admin, person, typed):
    with pytest.raises(Invalid) as error:
        deletion.request_deletion(admin, person.id, typed)
    assert error.value.field == "confirm_email"
    assert db.session.get(User, person.id).deletion_requested_at is None


def test_a_deleted_user_is_stopped_at_once_and_kept_until_the_grace_period_ends(
    db, admin, person, default_queue
):
    owner = factories.user()
    project = factories.project(owner, "Shared place")
    factories.member(project, person, Role.EDITOR)
    credential = factories.shared_dhis2_credential(person, project, "s3cret-pw")
    token = accounts.create_api_token(person.email)
    old_session = person.get_id()

    deleted = deletion.request_deletion(admin, person.id, person.email.upper() + " ")

    assert deleted.disabled and deleted.deletion_due_at > utcnow() + timedelta(days=6)
    assert accounts.load_session_user(old_session) is None
    assert accounts.authenticate(person.email, factories.PASSWORD) is None
    assert accounts.user_for_api_token(token) is None
    # Nothing is destroyed yet, and nothing is queued.
    assert db.session.get(Credential, credential.id) is not None
    assert users.detail(person.id).memberships != []
    assert default_queue.count == 0 and due.queue_due() == 0
    [entry] = audit_entries(db, person.id, "deleted")
    assert entry.actor_id == admin.id
    assert entry.changes["was_disabled"] is False and entry.changes["api_tokens_revoked"] == 1
    # Everything else waits for the cancel or the purge, and says why.
    with pytest.raises(Conflict, match="scheduled for deletion on"):
        deletion.request_deletion(admin, person.id, person.email)
    with pytest.raises(Conflict, match="cancel the deletion"):
        users.enable(admin, person.id)
    with pytest.raises(Invalid, match=r"scheduled for deletion on .* once it is removed"):
        invitations.invite(person.email, invited_by=admin)
    with pytest.raises(Invalid, match="scheduled for deletion on"):
        members.add_by_email(owner, Role.OWNER, project.id, person.email, "viewer")
    assert deletion.purge(person.id) is False


def test_a_cancel_re_enables_only_an_account_the_deletion_disabled(db, admin, person):
    token = accounts.create_api_token(person.email)
    deletion.request_deletion(admin, person.id, person.email)
    assert deletion.cancel_deletion(admin, person.id) is True
    kept = db.session.get(User, person.id)
    assert not kept.disabled and kept.deletion_requested_at is None and kept.deletion_due_at is None
    assert accounts.authenticate(person.email, factories.PASSWORD) is not None
    assert accounts.user_for_api_token(token) is None  # tokens stay revoked
    # Disabled before a second deletion: the cancel leaves them disabled.
    users.disable(admin, person.id)
    deletion.request_deletion(admin, person.id, person.email)
    assert deletion.cancel_deletion(admin, person.id) is False
    assert db.session.get(User, person.id).disabled
    cancelled = [e.changes["enabled"] for e in audit_entries(db, person.id, "deletion_cancelled")]
    assert sorted(cancelled) == [False, True]


def test_a_cancel_after_the_grace_period_or_of_someone_not_deleted_is_refused(db, admin, person):
    with pytest.raises(Conflict, match="is not scheduled for deletion"):
        deletion.cancel_deletion(admin, person.id)
    deletion.request_deletion(admin, person.id, person.email)
    make_due(db, person.id)
    with pytest.raises(Conflict, match="being removed"):
        deletion.cancel_deletion(admin, person.id)
    assert deletion.purge(person.id) is True
    with pytest.raises(NotFound, match="removed for good"):
        deletion.cancel_deletion(admin, person.id)


def test_the_purge_destroys_credentials_and_the_account_and_keeps_the_audit_trail(
    db, admin, person, default_queue, run_jobs
):
    owner = factories.user()
    project = factories.project(owner, "Shared place")
    factories.member(project, person, Role.ADMIN)
    credential = factories.shared_dhis2_credential(person, project, "s3cret-pw")
    project_settings.update_details(person, project.id, "Shared place", "Their change")
    person_id, admin_id, credential_id, project_id = person.id, admin.id, credential.id, project.id
    email = person.email
    deletion.request_deletion(admin, person_id, email)
    make_due(db, person_id)

    assert due.queue_due() == 1 and due.queue_due() == 1
    [job] = default_queue.get_jobs()
    assert job.func_name == jobs.USER_JOB and job.args == (str(person_id),)
    run_jobs()

    assert db.session.get(User, person_id) is None
    assert db.session.scalar(select(User).where(User.email == email)) is None
    assert db.session.get(Credential, credential_id) is None
    assert db.session.scalars(select(ProjectCredential)).all() == []
    assert db.session.scalars(
        select(ProjectMember.role).where(ProjectMember.project_id == project_id)
    ).all() == [Role.OWNER]
    [requested] = audit_entries(db, person_id, "deleted")
    assert requested.actor_id == admin_id
    [purged] = audit_entries(db, person_id, "purged")
    assert purged.actor_id is None
    assert purged.changes == {"email": email, "credentials": ["DHIS2 live"]}
    [destroyed] = audit_entries(db, credential_id, "deleted")
    assert destroyed.actor_id is None and "s3cret-pw" not in str(destroyed.changes)
    assert destroyed.changes["reason"] == f"its owner {email} was deleted"
    # What they did stays in the trail, without them as the actor.
    [their_change] = audit_entries(db, project_id, "updated")
    assert their_change.actor_id is None
    assert due.queue_due() == 0 and deletion.purge(person_id) is False
    # The address is free again.
    assert invitations.invite(email, invited_by=db.session.get(User, admin_id)).email == email


def test_a_purge_is_held_while_the_user_owns_a_project_and_goes_ahead_after(
    db, admin, person, caplog
):
    owner = factories.user()
    project = factories.project(owner, "Clinic intake")
    factories.member(project, person, Role.ADMIN)
    deletion.request_deletion(admin, person.id, person.email)
    # Meanwhile they became the owner (handing it over is refused now, so only a change made
    # outside the service, or one racing the deletion, can do this).
    for member in db.session.scalars(
        select(ProjectMember).where(ProjectMember.project_id == project.id)
    ):
        member.role = Role.OWNER if member.user_id == person.id else Role.ADMIN
    db.session.commit()
    make_due(db, person.id)

    with caplog.at_level(logging.WARNING, logger="app.services.deletions.users"):
        assert deletion.purge(person.id) is False
    assert "is held: they own Clinic intake" in caplog.text
    held = db.session.get(User, person.id)
    assert held.disabled and held.deletion_due_at > utcnow() + timedelta(hours=23)
    [entry] = audit_entries(db, person.id, "purge_held")
    assert entry.changes == {"email": person.email, "owns": ["Clinic intake"]}
    assert due.queue_due() == 0  # tried again tomorrow, not on every scheduler tick

    owner_member = db.session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == owner.id
        )
    )
    members.transfer_ownership(person, Role.OWNER, project.id, owner_member.id)
    make_due(db, person.id)
    assert deletion.purge(person.id) is True


def test_a_job_queued_before_a_cancel_does_nothing(db, admin, person, default_queue, run_jobs):
    person_id = person.id
    deletion.request_deletion(admin, person_id, person.email)
    jobs.enqueue_user(person_id)
    deletion.cancel_deletion(admin, person_id)
    run_jobs()
    assert db.session.get(User, person_id) is not None
    assert not db.session.get(User, person_id).disabled


def test_without_a_grace_period_the_purge_is_queued_at_once(
    db, admin, person, default_queue, run_jobs, no_grace
):
    person_id = person.id
    deleted = deletion.request_deletion(admin, person_id, person.email)
    assert deleted.deletion_due_at == deleted.deletion_requested_at
    run_jobs()
    assert db.session.get(User, person_id) is None
