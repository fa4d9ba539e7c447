"""Applying a project document: check it whole (`check_project`), say what it would change
(`plan_project`), or change the project to match it, or create a project from it
(`apply_project`).

Atomic: every problem of the whole document is collected first (`reading`), each with its
path, and if there is any, nothing is written. The writes then happen in one transaction
through the workflow store (so every changed workflow gets its snapshot and change notice);
a workflow the document leaves as it was gets no new version. Workflows the document does
not mention are left alone; an entry with `delete: true` deletes one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Project, ProjectCredential, ProjectMember, Role, User
from app.services import audit
from app.services import projects as project_service
from app.services.errors import Conflict, Invalid
from app.services.git_sync import queueing as git_sync
from app.services.notifications import change_notices
from app.services.project_code.diff import Change, changes
from app.services.project_code.document import ProjectDocumentInvalid, export_project
from app.services.project_code.reading import Reading, WorkflowEntry, read_project
from app.services.workflows import store
from app.services.workflows.export import export_document
from app.services.workflows.shapes import Problem

__all__ = [
    "ApplyResult",
    "ProjectDocumentInvalid",
    "apply_project",
    "check_project",
    "plan_project",
]

ITEM = "project"
# The words on the new version of each workflow a document changes (the History panel).
DEFAULT_MESSAGE = "Applied from project.yaml"
# The audit entry lists the changed paths; a whole new project is summed up beyond this.
MAX_AUDITED_CHANGES = 200

ReadFile = Callable[[str], str]


@dataclass
class ApplyResult:
    """The project as it is now, and what the document changed in it (`diff.Change`s)."""

    project: Project
    changes: list[Change]


def check_project(
    document: object,
    project_id: uuid.UUID | None = None,
    *,
    actor: User | None = None,
    read_file: ReadFile | None = None,
) -> list[Problem]:
    """Every problem of the document, each with its path (empty when it can be applied).
    Without `project_id` it is checked as a new project of `actor`."""
    return read_project(document, project_id, actor, read_file).problems


def plan_project(
    document: object,
    project_id: uuid.UUID | None,
    *,
    actor: User | None = None,
    read_file: ReadFile | None = None,
) -> list[Change]:
    """What applying the document would change, nothing written (the writes are made in a
    savepoint and undone, so the plan is exactly what `apply_project` does).
    ProjectDocumentInvalid lists every problem."""
    reading = _checked(document, project_id, actor, read_file)
    savepoint = db.session.begin_nested()
    try:
        _project, found, _written = _write(reading, actor, project_id)
    finally:
        savepoint.rollback()
    return found


def apply_project(
    document: object,
    actor: User | None,
    *,
    project_id: uuid.UUID | None = None,
    read_file: ReadFile | None = None,
    message: str | None = None,
) -> ApplyResult:
    """Make the project match the document (or create it, with `actor` as its owner, when
    `project_id` is None), in one transaction. ProjectDocumentInvalid lists every problem,
    and then nothing is changed. `message` is kept on each changed workflow's new version
    (git sync passes the commit's message)."""
    if project_id is None and actor is None:
        raise Invalid("", "Someone must own a new project.")
    reading = _checked(document, project_id, actor, read_file)
    savepoint = db.session.begin_nested()
    try:
        project, found, written = _write(reading, actor, project_id, message)
    except IntegrityError:
        # Checked beforehand: only a change made at the same moment (another import, a
        # save in the builder) can take a name or webhook path in between.
        savepoint.rollback()
        raise Conflict(
            "Someone changed this project while the document was applied; nothing was "
            "changed. Try again."
        ) from None
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    db.session.commit()
    actor_id = actor.id if actor is not None else None
    for workflow_id, event, old, new in written:
        change_notices.notify(workflow_id, project.id, actor_id, event, old, new)
        git_sync.saved(project.id, actor_id, workflow_id, None if event == "deleted" else new)
    return ApplyResult(project_service.get_project(project.id), found)


def _checked(
    document: object, project_id: uuid.UUID | None, actor: User | None, read_file
) -> Reading:
    reading = read_project(document, project_id, actor, read_file)
    if reading.problems:
        raise ProjectDocumentInvalid(reading.problems)
    return reading


def _write(
    reading: Reading,
    actor: User | None,
    project_id: uuid.UUID | None,
    message: str | None = None,
) -> tuple[Project, list[Change], list[tuple]]:
    """The writes of a checked document: the project, what changed, and the change notices
    to send after the commit as (workflow id, event, old version, new version)."""
    actor_id = actor.id if actor is not None else None
    before = export_project(project_id, with_ids=True) if project_id is not None else {}
    project = _project(reading, actor, project_id)
    written: list[tuple] = []
    for entry in reading.workflows:
        if entry.delete:
            version = entry.existing.lock_version
            store.delete_workflow(entry.existing.id, project.id, actor_id, commit=False)
            written.append((entry.existing.id, "deleted", version, version))
    _free_new_names(reading)
    for entry in reading.workflows:
        if not entry.delete:
            written.extend(_workflow(entry, project.id, actor_id, message))
    after = export_project(project.id, with_ids=True)
    found = changes(*_comparable(before, after))
    event = "document_applied" if project_id is not None else "created_from_document"
    paths = [f"{change.kind} {change.path}" for change in found]
    audit.record(
        ITEM,
        project.id,
        event,
        actor_id,
        {"changes": paths[:MAX_AUDITED_CHANGES], "count": len(paths)},
        project_id=project.id,
    )
    db.session.flush()
    return project, found, written


def _project(reading: Reading, actor: User | None, project_id: uuid.UUID | None) -> Project:
    """The project (created with its owner and shared credentials when new), its name,
    description and settings set as the document says."""
    if project_id is None:
        project = Project(name=reading.name, description=reading.description or "")
        db.session.add(project)
        db.session.flush()
        db.session.add(ProjectMember(project_id=project.id, user_id=actor.id, role=Role.OWNER))
        # The owner shares their own credentials the document names, as `sharing.share`
        # would one by one (that function commits, and this must stay one transaction).
        for name, credential_id in reading.to_share.items():
            db.session.add(ProjectCredential(project_id=project.id, credential_id=credential_id))
            audit.record(
                audit.CREDENTIAL,
                credential_id,
                "shared",
                actor.id,
                {"project_id": str(project.id), "project": project.name, "credential": name},
            )
    else:
        project = project_service.get_project(project_id)
        project.name = reading.name
        if reading.description is not None:
            project.description = reading.description
    for name, value in reading.settings.items():
        setattr(project, name, value)
    db.session.flush()
    return project


def _free_new_names(reading: Reading) -> None:
    """Give each workflow being renamed a passing name first, so that two workflows can
    swap names (each name is unique in the project at every step)."""
    renamed = [
        e
        for e in reading.workflows
        if e.existing is not None and not e.delete and e.document.name != e.existing.name
    ]
    for entry in renamed:
        entry.existing.name = f"{entry.existing.name[:150]} (renaming {entry.existing.id.hex[:8]})"
    if renamed:
        db.session.flush()


def _workflow(
    entry: WorkflowEntry, project_id: uuid.UUID, actor_id, message: str | None
) -> list[tuple]:
    """Create or replace one workflow; a replace that changes nothing is undone, so an
    unchanged workflow gets no new version."""
    where = f"workflows.{entry.key}"
    try:
        if entry.existing is None:
            created = store.create_workflow(project_id, entry.source, actor_id, commit=False)
            return [(created.id, "created", None, 1)]
        current = store.get_workflow(entry.existing.id)
        before, version = _sorted(export_document(current)), current.lock_version
        savepoint = db.session.begin_nested()
        try:
            saved = store.replace_workflow(
                entry.existing.id,
                entry.source,
                project_id=project_id,
                actor_id=actor_id,
                message=(message or DEFAULT_MESSAGE).replace("\x00", "")[:500],
                commit=False,
            )
        except BaseException:
            savepoint.rollback()
            raise
        if _sorted(export_document(saved)) == before:
            savepoint.rollback()
            return []
        savepoint.commit()
        return [(saved.id, "changed", version, saved.lock_version)]
    except ProjectDocumentInvalid:
        raise
    except Invalid as error:
        # Checked beforehand; reaching here means someone changed something in between
        # (e.g. took a webhook path), and the caller rolls everything back.
        problems = getattr(error, "problems", None) or [Problem(error.field, error.message)]
        raise ProjectDocumentInvalid(
            [Problem(f"{where}.{p.path}" if p.path else where, p.message) for p in problems]
        ) from None


def _sorted(document: dict) -> dict:
    """A workflow document with its sections in key order (export order is the rows')."""
    return {
        name: dict(sorted(value.items())) if name in ("triggers", "jobs", "edges") else value
        for name, value in document.items()
    }


def _comparable(before: dict, after: dict) -> tuple[dict, dict]:
    """Both exports without ids, each workflow under the key it had before (a renamed
    workflow is a changed name, not one removed and another added)."""
    keys = {entry["id"]: key for key, entry in before.get("workflows", {}).items()}
    renamed = {
        keys.get(entry["id"], key): entry for key, entry in after.get("workflows", {}).items()
    }
    return _without_ids(before), _without_ids({**after, "workflows": renamed})


def _without_ids(document: dict) -> dict:
    if not document:
        return {}
    result = {k: v for k, v in document.items() if k != "id"}
    result["workflows"] = {
        key: {
            name: (
                {k: {f: v for f, v in item.items() if f != "id"} for k, item in value.items()}
                if name in ("triggers", "jobs", "edges")
                else value
            )
            for name, value in entry.items()
            if name not in ("id", "lock_version")
        }
        for key, entry in document.get("workflows", {}).items()
    }
    return result
