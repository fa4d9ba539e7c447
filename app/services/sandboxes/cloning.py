"""Cloning a project into a sandbox, and what a project's sandbox relations are.

The clone is one transaction: the sandbox row (with its parent, the clone time and the
parent's document then), the cloner as its only member (owner), the credentials the cloner
owns shared into it (the same credentials, never copies: only an owner may share one), and
the parent's workflows and settings applied through the project document, so every workflow
gets its first snapshot the way a save takes one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Credential,
    Project,
    ProjectCredential,
    ProjectMember,
    Role,
    User,
)
from app.models.base import utcnow
from app.services import audit
from app.services import projects as project_service
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.project_code.document import export_project
from app.services.project_code.importing import apply_project
from app.services.sandboxes.documents import clone_document

ITEM = "project"
# Settings the document does not carry but a sandbox should behave like its parent in.
COPIED_COLUMNS = ("history_retention_days", "dataclip_retention_days")


@dataclass(frozen=True)
class NotShared:
    """A credential of the parent the cloner could not share: only its owner can."""

    name: str
    owner: str


@dataclass
class SharePreview:
    """Which of the parent's credentials a clone by this person would share, and which not."""

    shared: list[str] = field(default_factory=list)
    not_shared: list[NotShared] = field(default_factory=list)


@dataclass(frozen=True)
class CloneResult:
    """The new sandbox and the credentials that stayed behind."""

    sandbox: Project
    not_shared: list[NotShared]


@dataclass(frozen=True)
class Relations:
    """A project's place among sandboxes: its parent (None when it is not a sandbox, or the
    parent was deleted) and its own live sandboxes, by name."""

    parent: Project | None
    sandboxes: list[Project]

    @property
    def is_sandbox(self) -> bool:
        """True when the project is a sandbox of a live parent."""
        return self.parent is not None


def default_name(parent: Project) -> str:
    """The name offered for a new sandbox of `parent`."""
    return f"{parent.name} sandbox"[: project_service.MAX_NAME_LENGTH]


def preview_shares(actor: User, parent_id: uuid.UUID) -> SharePreview:
    """What a clone by `actor` would do with each credential shared into the parent."""
    preview = SharePreview()
    for credential, owner in _parent_credentials(parent_id):
        if credential.user_id == actor.id:
            preview.shared.append(credential.name)
        else:
            preview.not_shared.append(NotShared(credential.name, owner.display_name))
    return preview


def create_sandbox(actor: User, parent_id: uuid.UUID, name: str | None = None) -> CloneResult:
    """Clone the parent into a new sandbox owned by `actor` (an admin or owner of the
    parent): workflows (webhooks under new addresses, schedules switched off), settings,
    and the credential shares `actor` may make. All or nothing."""
    parent = project_service.get_project(parent_id)
    _require_admin(actor, parent)
    name = _checked_name(name, parent)
    base = export_project(parent.id)
    credentials = _parent_credentials(parent.id)
    mine = [credential for credential, _owner in credentials if credential.user_id == actor.id]
    sandbox = Project(
        name=name,
        description=parent.description,
        parent_id=parent.id,
        cloned_at=utcnow(),
        sandbox_base=base,
        **{column: getattr(parent, column) for column in COPIED_COLUMNS},
    )
    db.session.add(sandbox)
    db.session.flush()
    db.session.add(ProjectMember(project_id=sandbox.id, user_id=actor.id, role=Role.OWNER))
    for credential in mine:
        db.session.add(ProjectCredential(project_id=sandbox.id, credential_id=credential.id))
        audit.record(
            audit.CREDENTIAL,
            credential.id,
            "shared",
            actor.id,
            {"project_id": str(sandbox.id), "project": sandbox.name},
        )
    cloned = {"parent_id": str(parent.id), "parent": parent.name, "sandbox": sandbox.name}
    audit.record(ITEM, sandbox.id, "sandbox_created", actor.id, cloned, project_id=sandbox.id)
    audit.record(
        ITEM,
        parent.id,
        "sandbox_cloned",
        actor.id,
        {"sandbox_id": str(sandbox.id), "sandbox": sandbox.name},
        project_id=parent.id,
    )
    db.session.flush()
    document = clone_document(base, name, {credential.name for credential in mine})
    try:
        apply_project(document, actor, project_id=sandbox.id)  # commits everything above
    except Exception:
        db.session.rollback()
        raise
    not_shared = [
        NotShared(credential.name, owner.display_name)
        for credential, owner in credentials
        if credential.user_id != actor.id
    ]
    return CloneResult(project_service.get_project(sandbox.id), not_shared)


def relations(project: Project) -> Relations:
    """The project's live parent and live sandboxes."""
    parent = None
    if project.parent_id is not None:
        found = db.session.get(Project, project.parent_id)
        if found is not None and found.deletion_requested_at is None:
            parent = found
    sandboxes = list(
        db.session.scalars(
            select(Project)
            .where(Project.parent_id == project.id, Project.deletion_requested_at.is_(None))
            .order_by(Project.name)
        )
    )
    return Relations(parent, sandboxes)


def parents_by_id(projects: list[Project]) -> dict[uuid.UUID, Project]:
    """The live parents of those of `projects` that are sandboxes, by id (one query)."""
    ids = {p.parent_id for p in projects if p.parent_id is not None}
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Project).where(Project.id.in_(ids), Project.deletion_requested_at.is_(None))
    )
    return {row.id: row for row in rows}


def sandbox_and_parent(sandbox_id: uuid.UUID) -> tuple[Project, Project]:
    """The sandbox and its live parent; Conflict when the project is not a sandbox or its
    parent is gone (there is nothing to compare with or merge into)."""
    sandbox = project_service.get_project(sandbox_id)
    if sandbox.parent_id is None:
        raise Conflict(
            f"“{sandbox.name}” is not a sandbox: only a project cloned from another can be "
            "compared with and merged into its parent."
        )
    parent = relations(sandbox).parent
    if parent is None:
        raise Conflict(
            f"The project “{sandbox.name}” was cloned from has been deleted: there is nothing "
            "to compare with or merge into."
        )
    return sandbox, parent


def require_role_in(actor: User, project: Project, needed: Role, what: str) -> None:
    """Forbidden, naming the project and the role missing, unless `actor` holds `needed` in
    `project` (superusers act as owner)."""
    role = project_service.role_in_project(actor, project.id)
    if role is None and actor.is_superuser:
        role = Role.OWNER
    if role is not None and role.allows(needed):
        return
    held = f"yours is {role.value}" if role is not None else "you are not a member of it"
    raise Forbidden(
        f"{what} needs the {needed.value} role in “{project.name}”; {held}. "
        "Ask one of its admins if you need it."
    )


def credential_ids(project_id: uuid.UUID) -> dict[str, set[uuid.UUID]]:
    """The ids of the credentials shared into a project, by name."""
    found: dict[str, set[uuid.UUID]] = {}
    for credential, _owner in _parent_credentials(project_id):
        found.setdefault(credential.name, set()).add(credential.id)
    return found


def _require_admin(actor: User, parent: Project) -> None:
    require_role_in(actor, parent, Role.ADMIN, "Creating a sandbox")


def _checked_name(name: str | None, parent: Project) -> str:
    name = " ".join((name or "").split()) or default_name(parent)
    if "\x00" in name:
        raise Invalid("name", "The name contains a NUL character (\\u0000); remove it.")
    if len(name) > project_service.MAX_NAME_LENGTH:
        raise Invalid(
            "name", f"The name is too long: at most {project_service.MAX_NAME_LENGTH} characters."
        )
    return name


def _parent_credentials(parent_id: uuid.UUID) -> list[tuple[Credential, User]]:
    return list(
        db.session.execute(
            select(Credential, User)
            .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
            .join(User, User.id == Credential.user_id)
            .where(ProjectCredential.project_id == parent_id)
            .order_by(Credential.name)
        ).tuples()
    )
