"""Members and roles: one owner always, admins' limits, hand-over, removal unsharing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Invitation, MailMessage, ProjectCredential, ProjectMember, Role
from app.services import members
from app.services.credentials import store
from app.services.errors import Forbidden, Invalid, NotFound
from tests import factories


def joined(project, role: Role):
    """A new user who is a member of `project` with `role`, and their membership row."""
    person = factories.user()
    factories.member(project, person, role)
    return person, members.member_for_user(project.id, person.id)


def owners(db, project) -> list:
    return list(
        db.session.scalars(
            select(ProjectMember.user_id).where(
                ProjectMember.project_id == project.id, ProjectMember.role == Role.OWNER
            )
        )
    )


def test_members_are_listed_strongest_role_first(db, user, project):
    viewer, _ = joined(project, Role.VIEWER)
    admin, _ = joined(project, Role.ADMIN)
    rows = members.list_members(project.id)
    assert [(r.user_id, r.role) for r in rows] == [
        (user.id, Role.OWNER),
        (admin.id, Role.ADMIN),
        (viewer.id, Role.VIEWER),
    ]
    assert rows[0].email == user.email


def test_adding_an_existing_user_makes_them_a_member_and_tells_them(db, user, project):
    colleague = factories.user(email="known@example.org")
    added = members.add_by_email(user, Role.OWNER, project.id, " Known@Example.org", "editor")
    assert added.kind == "added"
    assert members.member_for_user(project.id, colleague.id).role is Role.EDITOR
    assert db.session.scalar(select(Invitation).where(Invitation.email == colleague.email)) is None
    notice = db.session.scalar(select(MailMessage).where(MailMessage.to_address == colleague.email))
    assert project.name in notice.subject and "as editor" in notice.text
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "member_added"))
    assert entry.project_id == project.id and entry.changes["role"] == "editor"


def test_adding_an_unknown_email_sends_an_invitation(db, user, project):
    added = members.add_by_email(user, Role.ADMIN, project.id, "new@example.org", "viewer")
    assert added.kind == "invited"
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == "new@example.org"))
    assert invitation.project_id == project.id and invitation.role == "viewer"


def test_adding_someone_twice_or_as_owner_is_refused(db, user, project):
    with pytest.raises(Invalid, match="already a member, as owner"):
        members.add_by_email(user, Role.OWNER, project.id, user.email, "viewer")
    for bad in ("owner", "superuser", "", None, "VIEWER "):
        with pytest.raises(Invalid, match="viewer, editor or admin"):
            members.add_by_email(user, Role.OWNER, project.id, "x@example.org", bad)
    with pytest.raises(Invalid, match="not valid"):
        members.add_by_email(user, Role.OWNER, project.id, "not an email", "viewer")


def test_editors_and_viewers_manage_nobody(db, user, project):
    editor, _ = joined(project, Role.EDITOR)
    _, viewer_row = joined(project, Role.VIEWER)
    with pytest.raises(Forbidden):
        members.add_by_email(editor, Role.EDITOR, project.id, "x@example.org", "viewer")
    with pytest.raises(Forbidden):
        members.change_role(editor, Role.EDITOR, project.id, viewer_row.id, "editor")
    with pytest.raises(Forbidden):
        members.remove(editor, Role.EDITOR, project.id, viewer_row.id)


def test_an_admin_never_touches_the_owner_nor_makes_an_owner(db, user, project):
    admin, _ = joined(project, Role.ADMIN)
    _, editor_row = joined(project, Role.EDITOR)
    owner_row = members.member_for_user(project.id, user.id)
    with pytest.raises(Forbidden):
        members.change_role(admin, Role.ADMIN, project.id, owner_row.id, "viewer")
    with pytest.raises(Forbidden):
        members.remove(admin, Role.ADMIN, project.id, owner_row.id)
    with pytest.raises(Invalid):
        members.change_role(admin, Role.ADMIN, project.id, editor_row.id, "owner")
    with pytest.raises(Forbidden):
        members.transfer_ownership(admin, Role.ADMIN, project.id, editor_row.id)
    assert owners(db, project) == [user.id]
    # What an admin may do: raise up to admin, and lower again.
    assert (
        members.change_role(admin, Role.ADMIN, project.id, editor_row.id, "admin").role
        is Role.ADMIN
    )
    assert (
        members.change_role(admin, Role.ADMIN, project.id, editor_row.id, "viewer").role
        is Role.VIEWER
    )


def test_role_change_is_audited_with_old_and_new(db, user, project):
    _, row = joined(project, Role.VIEWER)
    members.change_role(user, Role.OWNER, project.id, row.id, "editor")
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "role_changed"))
    assert entry.changes["role"] == ["viewer", "editor"] and entry.project_id == project.id


def test_ownership_hand_over_keeps_exactly_one_owner(db, user, project):
    colleague, row = joined(project, Role.EDITOR)
    result = members.transfer_ownership(user, Role.OWNER, project.id, row.id)
    assert result.role is Role.OWNER
    assert owners(db, project) == [colleague.id]
    assert members.member_for_user(project.id, user.id).role is Role.ADMIN
    with pytest.raises(Forbidden):  # the former owner is an admin now
        members.transfer_ownership(user, Role.ADMIN, project.id, row.id)
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "ownership_transferred"))
    assert entry.changes["previous_owner"] == [user.email]


def test_a_superuser_hands_ownership_over_without_being_a_member(db, user, project):
    root = factories.user(superuser=True)
    colleague, row = joined(project, Role.VIEWER)
    members.transfer_ownership(root, Role.OWNER, project.id, row.id)
    assert owners(db, project) == [colleague.id]


def test_the_owner_cannot_leave_or_be_handed_ownership_again(db, user, project):
    owner_row = members.member_for_user(project.id, user.id)
    with pytest.raises(Forbidden, match="Hand ownership"):
        members.leave(user, project.id)
    with pytest.raises(Invalid, match="owner already"):
        members.transfer_ownership(user, Role.OWNER, project.id, owner_row.id)


def test_removal_unshares_the_members_credentials_from_that_project_only(db, user, project):
    other_project = factories.project(user, "Other")
    editor, row = joined(project, Role.EDITOR)
    factories.member(other_project, editor, Role.EDITOR)
    credential = factories.shared_dhis2_credential(editor, project, "s3cret-value")
    from app.services.credentials import sharing

    sharing.share(editor, credential.id, other_project.id)
    owners_credential = factories.shared_dhis2_credential(user, project, "another-secret")
    assert members.credentials_leaving(project.id, editor.id) == ["DHIS2 live"]

    assert members.remove(user, Role.OWNER, project.id, row.id) == ["DHIS2 live"]
    shared = set(
        db.session.execute(select(ProjectCredential.project_id, ProjectCredential.credential_id))
    )
    assert (project.id, credential.id) not in shared
    assert (other_project.id, credential.id) in shared
    assert (project.id, owners_credential.id) in shared
    assert store.get_credential(credential.id).user_id == editor.id  # unshared, not deleted
    with pytest.raises(NotFound):
        members.member_for_user(project.id, editor.id)
    events = [
        e.event
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id))
    ]
    assert "member_removed" in events and "unshared" in events
    assert not any("s3cret" in str(e.changes) for e in db.session.scalars(select(AuditEvent)))


def test_a_member_leaves_and_their_credentials_leave_too(db, user, project):
    viewer, _ = joined(project, Role.VIEWER)
    factories.shared_dhis2_credential(viewer, project, "pw")
    assert members.leave(viewer, project.id) == ["DHIS2 live"]
    assert members.credentials_leaving(project.id, viewer.id) == []


def test_members_of_another_project_are_not_found(db, user, project):
    other = factories.project(factories.user(), "Elsewhere")
    _, stranger_row = joined(other, Role.VIEWER)
    for action in (
        lambda: members.change_role(user, Role.OWNER, project.id, stranger_row.id, "editor"),
        lambda: members.remove(user, Role.OWNER, project.id, stranger_row.id),
        lambda: members.transfer_ownership(user, Role.OWNER, project.id, stranger_row.id),
        lambda: members.get_member(project.id, stranger_row.id),
    ):
        with pytest.raises(NotFound):
            action()
    assert members.get_member(other.id, stranger_row.id).role is Role.VIEWER


def test_ownership_cannot_go_to_someone_scheduled_for_deletion(db, user, project):
    from app.services.deletions import users as user_deletion

    colleague, row = joined(project, Role.EDITOR)
    root = factories.user(superuser=True)
    user_deletion.request_deletion(root, colleague.id, colleague.email)
    with pytest.raises(Invalid, match="scheduled for deletion and cannot become the owner"):
        members.transfer_ownership(user, Role.OWNER, project.id, row.id)
    assert owners(db, project) == [user.id]
