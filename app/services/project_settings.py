"""Changing a project's settings (name and description, egress allowlist, the MFA
requirement) and deleting a project: hidden at once, its data removed by a background job.

Every change is audited with the values before and after, in the same commit; none of these
settings holds a secret.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy import delete, select, update

from app.extensions import DEFAULT_QUEUE, db, queue
from app.models import Dataclip, Project, User, Workflow, WorkOrder
from app.models.base import utcnow
from app.services import audit
from app.services import projects as project_service
from app.services.egress import allowlist
from app.services.errors import Invalid

ITEM = "project"
MAX_DESCRIPTION_LENGTH = 2000
DELETE_JOB = "workers.project_jobs.delete_project"
DELETE_BATCH = 500
# A deletion whose job did not finish (Redis was down, a worker died) is queued again by the
# scheduler after this long; the job is safe to run twice.
RETRY_DELETION_AFTER = timedelta(minutes=10)

_ACTIVE = {"queued", "started", "deferred", "scheduled"}

log = logging.getLogger(__name__)


def update_details(actor: User, project_id: uuid.UUID, name: str, description: str) -> Project:
    """Rename the project and change its description; audited when something changed."""
    project = project_service.get_project(project_id)
    name = " ".join((name or "").split())
    description = (description or "").strip()
    if not name:
        raise Invalid("name", "Give the project a name.")
    if len(name) > project_service.MAX_NAME_LENGTH:
        raise Invalid(
            "name", f"The name is too long: at most {project_service.MAX_NAME_LENGTH} characters."
        )
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise Invalid(
            "description",
            f"The description is too long: at most {MAX_DESCRIPTION_LENGTH:,} characters.",
        )
    for field, value in (("name", name), ("description", description)):
        if "\x00" in value:
            raise Invalid(field, f"The {field} contains a NUL character (\\u0000); remove it.")
    changes = _changes(project, name=name, description=description)
    if changes:
        audit.record(ITEM, project.id, "updated", actor.id, changes, project_id=project.id)
        db.session.commit()
    return project


def update_allowlist(actor: User | None, project_id: uuid.UUID, text: str) -> list[str]:
    """Replace the egress allowlist with the entries in `text` (one a line); returns the
    warnings about what the new list opens. Invalid names the first bad line."""
    project = project_service.get_project(project_id)
    return _save_allowlist(actor, project, allowlist.parse_text(text or ""))


def replace_allowlist(actor: User | None, project_id: uuid.UUID, lines: object) -> list[str]:
    """Replace the egress allowlist with a list of entries (the API, `ferry project-allow`);
    `actor` None is Ferry itself (the command line). Returns the warnings, as above."""
    project = project_service.get_project(project_id)
    if not isinstance(lines, list):
        raise Invalid(allowlist.FIELD, 'Send the entries as a list, e.g. ["10.0.0.5:8080"].')
    # Checked before reading any entry, so a list of a million blanks costs nothing.
    if len(lines) > allowlist.MAX_ENTRIES:
        raise Invalid(
            allowlist.FIELD,
            f"At most {allowlist.MAX_ENTRIES} entries: use CIDR ranges to group addresses.",
        )
    return _save_allowlist(actor, project, allowlist.parse_entries(lines))


def _save_allowlist(actor: User | None, project: Project, entries: list) -> list[str]:
    changes = _changes(project, egress_allowlist=[entry.text for entry in entries])
    if changes:
        actor_id = actor.id if actor is not None else None
        audit.record(ITEM, project.id, "egress_changed", actor_id, changes, project_id=project.id)
        db.session.commit()
    return allowlist.warnings(entries)


def allowlist_warnings(project: Project) -> list[str]:
    """The warnings about the saved allowlist (entries that no longer parse are skipped)."""
    entries = []
    for text in project.egress_allowlist or []:
        try:
            entries.append(allowlist.parse_entry(str(text)))
        except Invalid:
            continue
    return allowlist.warnings(entries)


def set_require_mfa(actor: User, project_id: uuid.UUID, required: bool) -> Project:
    """Require (or stop requiring) two-factor authentication of the project's members."""
    project = project_service.get_project(project_id)
    changes = _changes(project, require_mfa=bool(required))
    if changes:
        audit.record(ITEM, project.id, "mfa_changed", actor.id, changes, project_id=project.id)
        db.session.commit()
    return project


def _changes(project: Project, **values: object) -> dict[str, list]:
    """Set each attribute; the [before, after] pair of each one that changed."""
    changes = {}
    for name, value in values.items():
        before = getattr(project, name)
        if before != value:
            changes[name] = [before, value]
            setattr(project, name, value)
    return changes


def request_deletion(actor: User, project_id: uuid.UUID, typed_name: str) -> str:
    """Delete the project once its exact name was typed: it disappears from every list and
    page at once (its workflows stop taking webhooks and schedules), and a background job
    removes its data. The audit entry about the deletion stays. Returns the name."""
    project = project_service.get_project(project_id)
    if (typed_name or "").strip() != project.name:
        raise Invalid(
            "confirm_name",
            f"Type the project's name exactly as shown ({project.name}) to delete it.",
        )
    now = utcnow()
    project.deletion_requested_at = now
    db.session.execute(
        update(Workflow)
        .where(Workflow.project_id == project.id, Workflow.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    audit.record(
        ITEM, project.id, "deleted", actor.id, {"name": project.name}, project_id=project.id
    )
    db.session.commit()
    _enqueue_deletion(project.id)
    return project.name


def _enqueue_deletion(project_id: uuid.UUID) -> None:
    """Queue the deletion job unless one for this project is queued or running already."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    job_id = f"ferry-delete-project-{project_id}"
    try:
        jobs = queue(DEFAULT_QUEUE)
        try:
            if Job.fetch(job_id, connection=jobs.connection).get_status() in _ACTIVE:
                return
        except NoSuchJobError:
            pass
        jobs.enqueue(DELETE_JOB, str(project_id), job_id=job_id, job_timeout=3600)
    except RedisError:
        # The project is already hidden; the scheduler queues the job again later.
        log.warning("Could not queue the deletion of project %s; it will be retried.", project_id)


def delete_project_data(project_id: uuid.UUID) -> bool:
    """Remove a project whose deletion was requested, in batches (history first, so that no
    single statement holds locks for long). False when there is nothing to do: the project
    is gone already, or its deletion was never requested (a live project is never touched)."""
    pending = db.session.scalar(
        select(Project.id).where(
            Project.id == project_id, Project.deletion_requested_at.is_not(None)
        )
    )
    if pending is None:
        return False
    for model in (WorkOrder, Dataclip):  # runs, step runs and logs go with their work order
        while True:
            batch = select(model.id).where(model.project_id == project_id).limit(DELETE_BATCH)
            ids = list(db.session.scalars(batch))
            if not ids:
                break
            db.session.execute(delete(model).where(model.id.in_(ids)))
            db.session.commit()
    # Workflows, snapshots, members, shares and invitations go with the row (ON DELETE
    # CASCADE); audit entries have no foreign key and stay.
    db.session.execute(delete(Project).where(Project.id == project_id))
    db.session.commit()
    return True


def retry_stalled_deletions() -> list[uuid.UUID]:
    """Queue again the deletions requested long ago whose project still exists (the
    scheduler calls this)."""
    stalled = list(
        db.session.scalars(
            select(Project.id).where(
                Project.deletion_requested_at < utcnow() - RETRY_DELETION_AFTER
            )
        )
    )
    for project_id in stalled:
        _enqueue_deletion(project_id)
    return stalled
