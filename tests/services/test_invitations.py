"""Invitations: single-use emailed links, stored as digests, valid for 7 days."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Invitation, MailMessage, ProjectMember, Role, User
from app.models.base import utcnow
from app.services import invitations
from app.services.errors import Invalid, NotFound
from tests import factories


def token_from_mail(db, email: str) -> str:
    """The token in the newest mail to `email` (as the invited person would click it)."""
    message = db.session.scalars(
        select(MailMessage)
        .where(MailMessage.to_address == email)
        .order_by(MailMessage.inserted_at.desc())
    ).first()
    return re.search(r"/invitations/(\S+)", message.text).group(1)


def test_invitation_mails_a_link_and_stores_only_its_digest(db, user, project):
    invitation = invitations.invite("  New.Person@Example.ORG ", user, project, Role.EDITOR)
    token = token_from_mail(db, "new.person@example.org")
    assert invitation.email == "new.person@example.org"
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_digest
    expected = utcnow() + timedelta(days=7)
    assert abs((invitation.expires_at - expected).total_seconds()) < 60
    assert invitations.find_pending(token).id == invitation.id


def test_accepting_creates_the_user_and_membership_once(db, user, project):
    invitations.invite("colleague@example.org", user, project, "viewer")
    token = token_from_mail(db, "colleague@example.org")
    created = invitations.accept(token, "Col League", "a long enough password")
    assert created.name == "Col League"
    member = db.session.scalar(select(ProjectMember).where(ProjectMember.user_id == created.id))
    assert member.project_id == project.id and member.role is Role.VIEWER
    with pytest.raises(Invalid, match="already used"):
        invitations.accept(token, "Again", "a long enough password")


def test_expired_invitation_names_the_inviter(db, user, project):
    invitation = invitations.invite("late@example.org", user, project, "viewer")
    token = token_from_mail(db, "late@example.org")
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(Invalid, match=f"expired — ask {user.name} for a new one"):
        invitations.find_pending(token)
    with pytest.raises(Invalid, match="expired"):
        invitations.accept(token, "Late", "a long enough password")
    assert db.session.scalar(select(User).where(User.email == "late@example.org")) is None


def test_inviting_again_kills_the_old_link(db, user, project):
    invitations.invite("twice@example.org", user, project, "viewer")
    old = token_from_mail(db, "twice@example.org")
    invitations.invite("twice@example.org", user, project, "editor")
    new = token_from_mail(db, "twice@example.org")
    assert old != new
    with pytest.raises(NotFound):
        invitations.find_pending(old)
    assert invitations.find_pending(new).role == "editor"
    rows = db.session.scalars(select(Invitation).where(Invitation.email == "twice@example.org"))
    assert len(list(rows)) == 1


def test_superuser_invites_without_a_project(db):
    admin = factories.user(superuser=True)
    invitation = invitations.invite("solo@example.org", invited_by=admin)
    assert invitation.project_id is None and invitation.role is None
    token = token_from_mail(db, "solo@example.org")
    created = invitations.accept(token, "", "a long enough password")
    assert created.email == "solo@example.org"


def test_two_accepts_at_once_make_one_account(db, user, project, monkeypatch):
    invitation = invitations.invite("race@example.org", user, project, "viewer")
    token = token_from_mail(db, "race@example.org")
    # The other accept won between our check and our claim: the row is already used, but
    # this accept read it before that happened.
    stale = invitations.find_pending(token)
    db.session.execute(
        Invitation.__table__.update()
        .where(Invitation.id == invitation.id)
        .values(accepted_at=utcnow())
    )
    monkeypatch.setattr(invitations, "find_pending", lambda _token: stale)
    with pytest.raises(Invalid, match="already used"):
        invitations.accept(token, "Racer", "a long enough password")
    assert db.session.scalar(select(User).where(User.email == "race@example.org")) is None


def test_an_existing_account_is_not_invited(db, user, project):
    with pytest.raises(Invalid, match="already has an account"):
        invitations.invite(user.email.upper(), user, project, "viewer")
    assert db.session.scalar(select(Invitation)) is None


def test_a_deleted_project_s_invitation_no_longer_works(db, user, project):
    invitations.invite("gone@example.org", user, project, "viewer")
    token = token_from_mail(db, "gone@example.org")
    project.deletion_requested_at = utcnow()
    db.session.commit()
    with pytest.raises(NotFound, match="no longer exists"):
        invitations.find_pending(token)


def test_cancelling_kills_the_link_and_is_audited(db, user, project):
    invitation = invitations.invite("maybe@example.org", user, project, "viewer")
    token = token_from_mail(db, "maybe@example.org")
    other = factories.project(user, "Other")
    with pytest.raises(NotFound):
        invitations.cancel(user, other.id, invitation.id)
    assert invitations.cancel(user, project.id, invitation.id) == "maybe@example.org"
    with pytest.raises(NotFound):
        invitations.find_pending(token)
    events = {
        e.event: e.project_id
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.item_type == "invitation"))
    }
    assert events == {"invited": project.id, "invitation_cancelled": project.id}
