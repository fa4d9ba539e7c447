"""Invitations: the emailed single-use link that makes an account for someone new (and a
membership when a project invited them). Only a SHA-256 digest of the link's token is kept."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import Invitation, Project, ProjectMember, Role, User
from app.models.base import utcnow
from app.services import accounts, audit, mail, passwords
from app.services.errors import Invalid, NotFound
from app.services.notifications import preferences

VALID_DAYS = 7
MAX_NAME_LENGTH = 200
ITEM = "invitation"


@dataclass(frozen=True)
class InvitationSummary:
    """What the acceptance page and the members page say about an invitation."""

    id: uuid.UUID
    email: str
    project_id: uuid.UUID | None
    project_name: str | None
    role: str | None
    inviter: str
    expires_at: datetime
    expired: bool


def invite(
    email: str, invited_by: User, project: Project | None = None, role: Role | str | None = None
) -> Invitation:
    """Invite someone without an account by email; mails them a link valid for 7 days.

    Inviting the same email into the same project (or to no project) again replaces the
    pending invitation: the earlier link stops working and the new one gets a fresh week.
    """
    email = accounts.normalise_email(email)
    role_value = _role_value(project, role)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None and existing.deletion_requested_at is not None:
        # The address frees up only once the purge removed the account.
        raise Invalid(
            "email",
            f"{email} belongs to an account scheduled for deletion on "
            f"{existing.deletion_due_at:%d %b %Y}. Invite them again once it is removed, or "
            "ask a superuser to cancel the deletion.",
        )
    if existing is not None:
        raise Invalid("email", f"{email} already has an account; add them as a member instead.")
    if project is not None:
        # Serialises two invitations for the same project, so one pending row stays per email.
        db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    token = secrets.token_urlsafe(32)
    project_id = project.id if project is not None else None
    values = {
        "role": role_value,
        "token_digest": _digest(token),
        "invited_by_id": invited_by.id,
        "expires_at": utcnow() + timedelta(days=VALID_DAYS),
    }
    invitation = _pending(email, project_id)
    event = "invitation_renewed" if invitation is not None else "invited"
    if invitation is None:
        invitation = Invitation(email=email, project_id=project_id, **values)
        db.session.add(invitation)
    else:
        for key, value in values.items():
            setattr(invitation, key, value)
    db.session.flush()
    audit.record(
        ITEM,
        invitation.id,
        event,
        invited_by.id,
        {"email": email, "role": role_value},
        project_id=project_id,
    )
    db.session.commit()
    mail.send_mail(email, _subject(project), _text(invited_by, project, role_value, token))
    return invitation


def link(token: str) -> str:
    """The absolute URL of an invitation link (what the mail carries)."""
    return f"{current_app.config['FERRY_SETTINGS'].base_url}/invitations/{token}"


def find_pending(token: str) -> Invitation:
    """The invitation this link belongs to, if it can still be accepted.

    NotFound when no invitation has this token (never had, or was replaced or cancelled);
    Invalid("token") when it expired or was used, saying what to do next.
    """
    invitation = _by_token(token)
    if invitation.project_id is not None:
        project = db.session.get(Project, invitation.project_id)
        if project is None or project.deletion_requested_at is not None:
            raise NotFound("The project of this invitation no longer exists.")
    if invitation.accepted_at is not None:
        raise Invalid("token", "This invitation was already used. Sign in instead.")
    if invitation.expires_at <= utcnow():
        raise Invalid(
            "token", f"This invitation has expired — ask {_inviter(invitation)} for a new one."
        )
    return invitation


def summary(invitation: Invitation) -> InvitationSummary:
    """The project, role and inviter of an invitation, as people read them."""
    project = db.session.get(Project, invitation.project_id) if invitation.project_id else None
    return InvitationSummary(
        id=invitation.id,
        email=invitation.email,
        project_id=invitation.project_id,
        project_name=project.name if project is not None else None,
        role=invitation.role,
        inviter=_inviter(invitation),
        expires_at=invitation.expires_at,
        expired=invitation.expires_at <= utcnow(),
    )


def accept(token: str, name: str, password: str) -> User:
    """Create the invited person's account (and membership); the link works once."""
    invitation = find_pending(token)
    name = _check_name(name)
    passwords.validate_new_password(password, email=invitation.email)
    if db.session.scalar(select(User.id).where(User.email == invitation.email)) is not None:
        raise Invalid("token", "An account with this email exists already. Sign in instead.")
    now = utcnow()
    # The conditional UPDATE is the single-use guard: of two simultaneous accepts, only one
    # sees a row change; the other is refused before it creates anything.
    claimed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise Invalid("token", "This invitation was already used. Sign in instead.")
    # Built here rather than by accounts.create_user, which commits: the account, the
    # membership and the used link are stored together or not at all.
    user = User(
        email=invitation.email,
        name=name,
        password_hash=passwords.hash(password),
        password_changed_at=now,
        session_nonce=secrets.token_hex(8),
    )
    db.session.add(user)
    db.session.flush()
    if invitation.project_id is not None:
        db.session.add(
            ProjectMember(
                project_id=invitation.project_id,
                user_id=user.id,
                role=Role(invitation.role),
                failure_alerts=preferences.default_failure_alerts(Role(invitation.role)),
            )
        )
    audit.record(
        ITEM,
        invitation.id,
        "invitation_accepted",
        user.id,
        {"email": invitation.email, "role": invitation.role},
        project_id=invitation.project_id,
    )
    db.session.commit()
    return user


def pending_for_project(project_id: uuid.UUID) -> list[InvitationSummary]:
    """The project's invitations not yet accepted (expired ones too, marked by their date)."""
    rows = db.session.scalars(
        select(Invitation)
        .where(Invitation.project_id == project_id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.email)
    )
    return [summary(row) for row in rows]


def cancel(actor: User, project_id: uuid.UUID, invitation_id: uuid.UUID) -> str:
    """Withdraw a pending invitation of this project; its link stops working. Returns the email."""
    invitation = db.session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.project_id == project_id,
            Invitation.accepted_at.is_(None),
        )
    )
    if invitation is None:
        raise NotFound("There is no such pending invitation in this project.")
    email = invitation.email
    audit.record(
        ITEM,
        invitation.id,
        "invitation_cancelled",
        actor.id,
        {"email": email},
        project_id=project_id,
    )
    db.session.delete(invitation)
    db.session.commit()
    return email


def _pending(email: str, project_id: uuid.UUID | None) -> Invitation | None:
    project_match = (
        Invitation.project_id.is_(None)
        if project_id is None
        else Invitation.project_id == project_id
    )
    return db.session.scalar(
        select(Invitation).where(
            Invitation.email == email, project_match, Invitation.accepted_at.is_(None)
        )
    )


def _by_token(token: str) -> Invitation:
    # A token is 43 URL-safe characters; anything far off is not worth hashing.
    if not token or len(token) > 100:
        raise NotFound("This invitation link is not valid.")
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_digest == _digest(token))
    )
    if invitation is None:
        raise NotFound(
            "This invitation link is not valid. It may have been replaced by a newer one."
        )
    return invitation


def _role_value(project: Project | None, role: Role | str | None) -> str | None:
    if project is None:
        return None
    try:
        parsed = Role(role)
    except ValueError:
        raise Invalid("role", "Choose one of the roles viewer, editor or admin.") from None
    if parsed is Role.OWNER:
        raise Invalid("role", "Nobody joins as owner; hand ownership over once they are a member.")
    return parsed.value


def _check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if "\x00" in name:
        raise Invalid("name", "The name contains a NUL character (\\u0000); remove it.")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid("name", f"The name is too long: at most {MAX_NAME_LENGTH} characters.")
    return name


def _inviter(invitation: Invitation) -> str:
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    return inviter.display_name if inviter is not None else "an administrator"


def _subject(project: Project | None) -> str:
    if project is None:
        return "You are invited to Ferry"
    return f"You are invited to the project “{project.name}” on Ferry"


def _text(inviter: User, project: Project | None, role: str | None, token: str) -> str:
    where = f"the project “{project.name}” as {role}" if project is not None else "Ferry"
    return (
        f"{inviter.display_name} ({inviter.email}) invited you to join {where}.\n\n"
        f"Open this link to choose your password and start:\n{link(token)}\n\n"
        f"The link works once and expires in {VALID_DAYS} days. "
        "If you did not expect this invitation, you can ignore this mail.\n"
    )


def _digest(token: str) -> str:
    # Tokens are 256-bit random values, so a fast hash is enough (no brute force possible).
    return hashlib.sha256(token.encode()).hexdigest()
