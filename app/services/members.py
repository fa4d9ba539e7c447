"""A project's members: who is in it with which role, adding people by email, changing roles,
removing members (their credentials leave the project with them) and handing ownership over.

Rules kept here: a project has exactly one owner at all times; nobody becomes owner except by
a hand-over from the owner; an admin manages viewers, editors and admins but never the owner.
Every change locks the project's row first, so two admins acting at once cannot break them.
Roles are read afresh on every request (app/web/access.py), so a change applies at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Credential, Project, ProjectCredential, ProjectMember, Role, User
from app.services import accounts, audit, invitations, mail
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.notifications import preferences

ITEM = "member"
# Roles given by adding or changing a member; the owner's role moves only by a hand-over.
GRANTABLE = (Role.VIEWER, Role.EDITOR, Role.ADMIN)


@dataclass(frozen=True)
class MemberRow:
    """A member as the members page shows them."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    email: str
    role: Role
    joined_at: datetime
    disabled: bool


@dataclass(frozen=True)
class Added:
    """What adding someone by email did: added an existing user, or emailed an invitation."""

    kind: Literal["added", "invited"]
    email: str
    role: Role


def list_members(project_id: uuid.UUID) -> list[MemberRow]:
    """The project's members, strongest role first, then by name."""
    rows = db.session.execute(
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id)
    ).all()
    members = [
        MemberRow(
            id=member.id,
            user_id=user.id,
            name=user.display_name,
            email=user.email,
            role=member.role,
            joined_at=member.inserted_at,
            disabled=user.disabled,
        )
        for member, user in rows
    ]
    return sorted(members, key=lambda m: (-m.role.rank, m.name.lower(), m.email))


def get_member(project_id: uuid.UUID, member_id: uuid.UUID) -> MemberRow:
    """One member of this project; NotFound for a member of another project."""
    for member in list_members(project_id):
        if member.id == member_id:
            return member
    raise NotFound("There is no such member in this project.")


def member_for_user(project_id: uuid.UUID, user_id: uuid.UUID) -> MemberRow:
    """The membership of this user in the project (NotFound when they are not a member)."""
    for member in list_members(project_id):
        if member.user_id == user_id:
            return member
    raise NotFound("You are not a member of this project.")


def parse_role(value: str | None) -> Role:
    """A role that can be given (viewer, editor, admin), or Invalid('role')."""
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in GRANTABLE:
        raise Invalid("role", "Choose one of the roles viewer, editor or admin.")
    return role


def add_by_email(actor: User, actor_role: Role, project_id: uuid.UUID, email: str, role) -> Added:
    """Add someone by email: an existing user joins at once (and is told by mail); anyone
    else is emailed an invitation to make an account."""
    _require_manager(actor_role)
    role = parse_role(role)
    _require_may_grant(actor_role, role)
    email = accounts.normalise_email(email)
    project = _locked_project(project_id)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or user.deletion_requested_at is not None:
        # A pending deletion's account is refused by the invitation, with the reason.
        invitations.invite(email, invited_by=actor, project=project, role=role)
        return Added("invited", email, role)
    existing = _membership_of(project.id, user.id)
    if existing is not None:
        raise Invalid("email", f"{email} is already a member, as {existing.role.value}.")
    member = ProjectMember(
        project_id=project.id,
        user_id=user.id,
        role=role,
        failure_alerts=preferences.default_failure_alerts(role),
    )
    db.session.add(member)
    db.session.flush()
    audit.record(
        ITEM,
        user.id,
        "member_added",
        actor.id,
        {"email": email, "role": role.value},
        project_id=project.id,
    )
    db.session.commit()
    mail.send_mail(
        email,
        f"You were added to the project “{project.name}” on Ferry",
        f"{actor.display_name} ({actor.email}) added you to the project “{project.name}” "
        f"as {role.value}.\n\nOpen it here:\n{_project_link(project.id)}\n",
    )
    return Added("added", email, role)


def change_role(
    actor: User, actor_role: Role, project_id: uuid.UUID, member_id: uuid.UUID, role
) -> MemberRow:
    """Give a member another role (never owner: ownership is handed over instead)."""
    _require_manager(actor_role)
    role = parse_role(role)
    project = _locked_project(project_id)
    member = _member(project.id, member_id)
    if member.role is Role.OWNER:
        raise Forbidden(
            "The owner's role changes only when the owner hands ownership to someone else."
        )
    _require_may_grant(actor_role, role)
    _require_may_grant(actor_role, member.role)
    if member.role is not role:
        old = member.role
        member.role = role
        audit.record(
            ITEM,
            member.user_id,
            "role_changed",
            actor.id,
            {"email": _email(member.user_id), "role": [old.value, role.value]},
            project_id=project.id,
        )
        db.session.commit()
    return get_member(project.id, member.id)


def credentials_leaving(project_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
    """The names of the member's credentials shared into the project, which removing them
    unshares (the confirmation page lists them)."""
    return list(
        db.session.scalars(
            select(Credential.name)
            .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
            .where(ProjectCredential.project_id == project_id, Credential.user_id == user_id)
            .order_by(Credential.name)
        )
    )


def remove(actor: User, actor_role: Role, project_id: uuid.UUID, member_id: uuid.UUID) -> list[str]:
    """Remove a member (not the owner); the credentials they own leave the project too.
    Returns the names of those credentials."""
    _require_manager(actor_role)
    project = _locked_project(project_id)
    member = _member(project.id, member_id)
    if member.role is Role.OWNER:
        raise Forbidden("The owner cannot be removed. The owner can hand ownership over first.")
    _require_may_grant(actor_role, member.role)
    return _remove(actor, project, member, "member_removed")


def leave(user: User, project_id: uuid.UUID) -> list[str]:
    """The signed-in member leaves the project (the owner hands ownership over first)."""
    project = _locked_project(project_id)
    member = _membership_of(project.id, user.id)
    if member is None:
        raise NotFound("You are not a member of this project.")
    if member.role is Role.OWNER:
        raise Forbidden("The owner cannot leave. Hand ownership to another member first.")
    return _remove(user, project, member, "member_left")


def transfer_ownership(
    actor: User, actor_role: Role, project_id: uuid.UUID, member_id: uuid.UUID
) -> MemberRow:
    """Make another member the owner; the previous owner stays on as admin."""
    if actor_role is not Role.OWNER:
        raise Forbidden("Only the project's owner can hand ownership over.")
    project = _locked_project(project_id)
    member = _member(project.id, member_id)
    if member.role is Role.OWNER:
        raise Invalid("member", "That member is the owner already.")
    if db.session.get(User, member.user_id).deletion_requested_at is not None:
        # A project always needs an owner who stays: their account is about to go.
        raise Invalid(
            "member",
            f"{_email(member.user_id)} is scheduled for deletion and cannot become the owner; "
            "choose someone else, or ask a superuser to cancel their deletion first.",
        )
    previous = db.session.scalars(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.role == Role.OWNER
        )
    ).all()
    for owner in previous:
        owner.role = Role.ADMIN
    old_role, member.role = member.role, Role.OWNER
    audit.record(
        ITEM,
        member.user_id,
        "ownership_transferred",
        actor.id,
        {
            "email": _email(member.user_id),
            "role": [old_role.value, Role.OWNER.value],
            "previous_owner": [_email(owner.user_id) for owner in previous],
        },
        project_id=project.id,
    )
    db.session.commit()
    return get_member(project.id, member.id)


def _remove(actor: User, project: Project, member: ProjectMember, event: str) -> list[str]:
    shares = db.session.execute(
        select(ProjectCredential, Credential)
        .join(Credential, Credential.id == ProjectCredential.credential_id)
        .where(ProjectCredential.project_id == project.id, Credential.user_id == member.user_id)
        .order_by(Credential.name)
    ).all()
    for share, credential in shares:
        db.session.delete(share)
        audit.record(
            audit.CREDENTIAL,
            credential.id,
            "unshared",
            actor.id,
            {"project_id": str(project.id), "project": project.name, "reason": event},
            project_id=project.id,
        )
    names = [credential.name for _, credential in shares]
    audit.record(
        ITEM,
        member.user_id,
        event,
        actor.id,
        {"email": _email(member.user_id), "role": member.role.value, "unshared": names},
        project_id=project.id,
    )
    db.session.delete(member)
    db.session.commit()
    return names


def _require_manager(actor_role: Role) -> None:
    if not actor_role.allows(Role.ADMIN):
        raise Forbidden("Only the project's admins and owner manage its members.")


def _require_may_grant(actor_role: Role, role: Role) -> None:
    # Nobody acts on a role above their own: an admin never touches the owner.
    if not actor_role.allows(role):
        raise Forbidden(f"Your role ({actor_role.value}) cannot manage a member as {role.value}.")


def _locked_project(project_id: uuid.UUID) -> Project:
    # Locking the project row serialises member changes of one project, so two admins
    # acting at once cannot leave it with no owner or two.
    project = db.session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None:
        raise NotFound("There is no such project.")
    return project


def _member(project_id: uuid.UUID, member_id: uuid.UUID) -> ProjectMember:
    member = db.session.scalar(
        select(ProjectMember).where(
            ProjectMember.id == member_id, ProjectMember.project_id == project_id
        )
    )
    if member is None:
        raise NotFound("There is no such member in this project.")
    return member


def _membership_of(project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectMember | None:
    return db.session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def _email(user_id: uuid.UUID) -> str:
    return db.session.scalar(select(User.email).where(User.id == user_id)) or ""


def _project_link(project_id: uuid.UUID) -> str:
    return f"{current_app.config['FERRY_SETTINGS'].base_url}/projects/{project_id}"
