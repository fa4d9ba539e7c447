"""Every user of the instance, as superusers manage them: search, superuser rights and
disabling (deleting lives in `services.deletions.users`). Each change is audited; the web
layer checks that the caller is a superuser."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import ApiToken, Credential, Project, ProjectCredential, ProjectMember, Role, User
from app.models.base import utcnow
from app.services import accounts, audit, mfa
from app.services.errors import Conflict, Invalid, NotFound

ITEM = "user"
PAGE_SIZE = 50
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class UserPage:
    """One page of the users list; `next_after` is the cursor of the next page, if any."""

    users: list[User]
    next_after: str | None


@dataclass(frozen=True)
class Membership:
    """A project the user is in, and their role there."""

    project_id: uuid.UUID
    project_name: str
    role: Role


@dataclass(frozen=True)
class OwnedCredential:
    """A credential the user owns and the projects it is shared into (deleting ends both)."""

    name: str
    projects: list[str]


@dataclass(frozen=True)
class UserDetail:
    """What the user page shows: the account, its projects, credentials and tokens."""

    user: User
    memberships: list[Membership]
    credentials: list[OwnedCredential]
    active_tokens: int

    @property
    def owned_projects(self) -> list[str]:
        """Names of the projects this user owns (they block deleting the user)."""
        return [m.project_name for m in self.memberships if m.role is Role.OWNER]


def search(query: str = "", after: str | None = None) -> UserPage:
    """Users whose email or name contains `query` (any case), by email, a page at a time.

    `after` is the last email of the previous page (keyset pagination: stable while users
    are added, and as fast on page 100 as on page 1).
    """
    query = _clean_query(query)
    statement = select(User).order_by(User.email).limit(PAGE_SIZE + 1)
    if query:
        # The query is matched literally: % and _ typed by someone mean themselves.
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(User.email.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\"))
        )
    if after:
        statement = statement.where(User.email > _clean_query(after, field="after"))
    rows = list(db.session.scalars(statement))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return UserPage(users=rows, next_after=rows[-1].email if more else None)


def get_user(user_id: uuid.UUID) -> User:
    """The user with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("There is no user with this id; they may have been deleted.")
    return user


def detail(user_id: uuid.UUID) -> UserDetail:
    """The user with their memberships, credentials and count of working API tokens."""
    user = get_user(user_id)
    memberships = [
        Membership(project_id=project.id, project_name=project.name, role=member.role)
        for member, project in db.session.execute(
            select(ProjectMember, Project)
            .join(Project, Project.id == ProjectMember.project_id)
            .where(ProjectMember.user_id == user.id, Project.deletion_requested_at.is_(None))
            .order_by(func.lower(Project.name))
        )
    ]
    now = utcnow()
    active_tokens = db.session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    )
    return UserDetail(
        user=user,
        memberships=memberships,
        credentials=_credentials(user.id),
        active_tokens=active_tokens or 0,
    )


def set_superuser(actor: User, user_id: uuid.UUID, value: bool) -> User:
    """Grant or take away superuser rights; the instance always keeps one active superuser.
    Granting them ends the person's sessions, so they sign in afresh to use them."""
    user = lock_user(user_id)
    if user.is_superuser == value:
        return user
    if not value:
        keep_a_superuser(user, "take superuser rights from")
    user.is_superuser = value
    event = "superuser_granted" if value else "superuser_revoked"
    audit.record(ITEM, user.id, event, actor.id, {"email": user.email})
    if value:
        # More rights: no session (or copied cookie) from before carries them; the person
        # signs in again. Fewer rights need no such step: every request reads the flag.
        accounts.sign_out_everywhere(user.id)
    else:
        db.session.commit()
    return user


def disable(actor: User, user_id: uuid.UUID) -> User:
    """Disable a user: they cannot sign in, their sessions end now, their API tokens stop."""
    user = lock_user(user_id)
    if user.id == actor.id:
        raise Conflict("You cannot disable your own account; ask another superuser.")
    if user.disabled:
        return user
    if user.is_superuser:
        keep_a_superuser(user, "disable")
    user.disabled = True
    audit.record(ITEM, user.id, "disabled", actor.id, {"email": user.email})
    # New session nonce in the same commit: old cookies stay dead even after re-enabling.
    accounts.sign_out_everywhere(user.id)
    return user


def reset_mfa(actor: User, user_id: uuid.UUID) -> User:
    """Turn off someone's two-factor authentication who lost both their authenticator and
    their backup codes, so they can sign in with the password and enrol again. Their sessions
    end: whoever holds one now did not prove the second factor it was opened with."""
    user = lock_user(user_id)
    if user.id == actor.id:
        raise Conflict(
            "You cannot reset your own two-factor authentication here; turn it off on your "
            "profile, or ask another superuser."
        )
    if not user.mfa_enabled:
        raise Conflict(f"{user.email} does not use two-factor authentication.")
    mfa.erase(user)
    audit.record(ITEM, user.id, "mfa_reset", actor.id, {"email": user.email})
    accounts.sign_out_everywhere(user.id)  # commits the reset, the entry and the new nonce
    return user


def enable(actor: User, user_id: uuid.UUID) -> User:
    """Let a disabled user sign in again (sessions from before stay ended)."""
    user = lock_user(user_id)
    if user.deletion_requested_at is not None:
        raise Conflict(f"{user.email} is scheduled for deletion: cancel the deletion to keep them.")
    if not user.disabled:
        return user
    user.disabled = False
    audit.record(ITEM, user.id, "enabled", actor.id, {"email": user.email})
    db.session.commit()
    return user


def owned_projects_message(user: User, owned: list[str]) -> str:
    """Why a user who owns projects cannot be deleted, and what to do about it."""
    names = ", ".join(f"“{name}”" for name in owned)
    which = "this project" if len(owned) == 1 else "these projects"
    return (
        f"{user.email} owns {names}. Hand ownership of {which} to another member first "
        "(the project's Members settings), then delete the user."
    )


def last_active_superuser(user: User) -> bool:
    """True when `user` is the only superuser who is not disabled."""
    others = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.is_superuser.is_(True), User.disabled.is_(False), User.id != user.id)
    )
    return user.is_superuser and not user.disabled and not others


def keep_a_superuser(user: User, action: str) -> None:
    """Conflict when `user` is the only active superuser (the instance needs one)."""
    if last_active_superuser(user):
        raise Conflict(
            f"You cannot {action} {user.email}: they are the only active superuser, and "
            "the instance needs one. Make someone else a superuser first."
        )


def lock_user(user_id: uuid.UUID) -> User:
    """The user, locked for this transaction (NotFound when there is none)."""
    # Row lock: two superusers changing the same person (or the last two superusers taking
    # each other's rights at once) are applied one after the other.
    user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound("There is no user with this id; they may have been deleted.")
    if user.is_superuser:
        # Serialise every change to superusers, so "one must remain" holds under races.
        db.session.execute(
            select(User.id).where(User.is_superuser.is_(True)).with_for_update()
        ).all()
    return user


def _credentials(user_id: uuid.UUID) -> list[OwnedCredential]:
    rows = db.session.execute(
        select(Credential.id, Credential.name, Project.name)
        .outerjoin(ProjectCredential, ProjectCredential.credential_id == Credential.id)
        .outerjoin(Project, Project.id == ProjectCredential.project_id)
        .where(Credential.user_id == user_id)
        .order_by(func.lower(Credential.name), Credential.id, Project.name)
    ).all()
    grouped: dict[uuid.UUID, OwnedCredential] = {}
    for credential_id, name, project_name in rows:
        entry = grouped.setdefault(credential_id, OwnedCredential(name=name, projects=[]))
        if project_name is not None:
            entry.projects.append(project_name)
    return list(grouped.values())


def _clean_query(value: object, field: str = "q") -> str:
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if "\x00" in value:
        raise Invalid(field, "The search contains a NUL character (\\u0000); remove it.")
    if len(value) > MAX_QUERY_LENGTH:
        raise Invalid(field, f"The search is too long: at most {MAX_QUERY_LENGTH} characters.")
    return value
