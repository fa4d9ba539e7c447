"""Who sees a credential: its shares into projects, the steps that use it, and the lists
people and projects see. Only the owner shares and unshares."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Credential,
    Project,
    ProjectCredential,
    ProjectMember,
    Step,
    User,
    Workflow,
)
from app.services import audit
from app.services.credentials import forms
from app.services.credentials.store import get_credential, require_owner
from app.services.errors import Invalid, NotFound


@dataclass(frozen=True)
class StepUse:
    """A step that uses a credential, with where it lives."""

    project_id: uuid.UUID
    project_name: str
    workflow_id: uuid.UUID
    workflow_name: str
    step_name: str


@dataclass(frozen=True)
class CredentialRow:
    """A credential as lists show it: no secrets, only who owns it and where it is used."""

    id: uuid.UUID
    name: str
    type_label: str
    owner: str
    owner_id: uuid.UUID
    production: bool
    projects: tuple[str, ...]
    steps: tuple[StepUse, ...]


def share(actor: User, credential_id: uuid.UUID, project_id: uuid.UUID) -> Project:
    """Share the credential into a project the owner belongs to."""
    credential = get_credential(credential_id)
    require_owner(actor, credential)
    project = db.session.get(Project, project_id)
    if project is None or project_id not in _member_project_ids(actor.id):
        raise Invalid("project_id", "You can share a credential only into your own projects.")
    if _share_row(credential.id, project.id) is not None:
        raise Invalid("project_id", f"It is already shared into “{project.name}”.")
    db.session.add(ProjectCredential(project_id=project.id, credential_id=credential.id))
    audit.record(
        audit.CREDENTIAL,
        credential.id,
        "shared",
        actor.id,
        {"project_id": str(project.id), "project": project.name},
    )
    db.session.commit()
    return project


def unshare(actor: User, credential_id: uuid.UUID, project_id: uuid.UUID) -> Project:
    """Stop sharing the credential into a project; its steps there can no longer use it."""
    credential = get_credential(credential_id)
    require_owner(actor, credential)
    row = _share_row(credential.id, project_id)
    if row is None:
        raise NotFound("The credential is not shared into that project.")
    project = db.session.get(Project, project_id)
    db.session.delete(row)
    audit.record(
        audit.CREDENTIAL,
        credential.id,
        "unshared",
        actor.id,
        {"project_id": str(project.id), "project": project.name},
    )
    db.session.commit()
    return project


def shared_projects(credential_id: uuid.UUID) -> list[Project]:
    """The projects a credential is shared into, by name."""
    return list(
        db.session.scalars(
            select(Project)
            .join(ProjectCredential, ProjectCredential.project_id == Project.id)
            .where(
                ProjectCredential.credential_id == credential_id,
                Project.deletion_requested_at.is_(None),
            )
            .order_by(Project.name)
        )
    )


def shareable_projects(user: User, credential_id: uuid.UUID) -> list[Project]:
    """The user's projects the credential is not yet shared into."""
    already = {p.id for p in shared_projects(credential_id)}
    projects = db.session.scalars(
        select(Project)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user.id, Project.deletion_requested_at.is_(None))
        .order_by(Project.name)
    )
    return [p for p in projects if p.id not in already]


def steps_using(
    credential_id: uuid.UUID, project_ids: Iterable[uuid.UUID] | None = None
) -> list[StepUse]:
    """The steps of live workflows using the credential (optionally only in `project_ids`)."""
    query = (
        select(Project.id, Project.name, Workflow.id, Workflow.name, Step.name)
        .join(Workflow, Workflow.id == Step.workflow_id)
        .join(Project, Project.id == Workflow.project_id)
        .where(Step.credential_id == credential_id, Workflow.deleted_at.is_(None))
        .order_by(Project.name, Workflow.name, Step.name)
    )
    if project_ids is not None:
        query = query.where(Project.id.in_(list(project_ids)))
    return [StepUse(*row) for row in db.session.execute(query)]


def visible_project_ids(user: User) -> set[uuid.UUID] | None:
    """The projects whose steps `user` may see; None means all (superusers)."""
    return None if user.is_superuser else _member_project_ids(user.id)


def list_for_user(user: User) -> list[CredentialRow]:
    """The credentials the user owns, then those shared into the user's projects."""
    member_of = _member_project_ids(user.id)
    shared_ids = select(ProjectCredential.credential_id).where(
        ProjectCredential.project_id.in_(member_of)
    )
    credentials = db.session.scalars(
        select(Credential)
        .where((Credential.user_id == user.id) | Credential.id.in_(shared_ids))
        .order_by(Credential.name)
    ).all()
    rows = _rows(credentials, visible_project_ids(user), user.id)
    return sorted(rows, key=lambda row: (row.owner_id != user.id, row.name.lower()))


def list_for_project(project_id: uuid.UUID) -> list[CredentialRow]:
    """The credentials shared into a project, with the project's steps using each."""
    credentials = db.session.scalars(
        select(Credential)
        .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
        .where(ProjectCredential.project_id == project_id)
        .order_by(Credential.name)
    ).all()
    return _rows(credentials, {project_id})


def _rows(
    credentials, project_ids: set[uuid.UUID] | None, viewer_id: uuid.UUID | None = None
) -> list[CredentialRow]:
    # An owner sees everywhere their secret is used; others only the projects they can open.
    owners = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({c.user_id for c in credentials}))
        )
    }
    return [
        CredentialRow(
            id=c.id,
            name=c.name,
            type_label=forms.type_label(c.schema),
            owner=owners[c.user_id].display_name,
            owner_id=c.user_id,
            production=c.production,
            projects=tuple(
                p.name
                for p in shared_projects(c.id)
                if project_ids is None or p.id in project_ids or c.user_id == viewer_id
            ),
            steps=tuple(steps_using(c.id, None if c.user_id == viewer_id else project_ids)),
        )
        for c in credentials
    ]


def _member_project_ids(user_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        db.session.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == user_id))
    )


def _share_row(credential_id: uuid.UUID, project_id: uuid.UUID) -> ProjectCredential | None:
    return db.session.scalar(
        select(ProjectCredential).where(
            ProjectCredential.credential_id == credential_id,
            ProjectCredential.project_id == project_id,
        )
    )
