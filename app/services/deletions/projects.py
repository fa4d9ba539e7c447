"""Deleting a project: it disappears at once (its workflows stop taking webhooks and
schedules), its owner or a superuser can bring it back until the grace period ends, and then
a background job purges its data. Audit entries about the project stay."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from app.extensions import db
from app.models import Dataclip, Project, ProjectMember, Role, User, Workflow, WorkOrder
from app.models.base import utcnow
from app.services import audit
from app.services import projects as project_service
from app.services.deletions import jobs
from app.services.errors import Conflict, Invalid, NotFound

ITEM = "project"
BATCH = 500
GONE = "There is no project scheduled for deletion here; it may have been removed for good."

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledProject:
    """A deleted project whose data is not purged yet, as the projects list shows it."""

    id: uuid.UUID
    name: str
    due_at: datetime
    cancellable: bool


def request_deletion(actor: User, project_id: uuid.UUID, typed_name: str) -> Project:
    """Delete the project once its exact name was typed: it disappears from every list and
    page at once and its data is purged after the grace period (at once when it is 0)."""
    project = project_service.get_project(project_id)
    if (typed_name or "").strip() != project.name:
        raise Invalid(
            "confirm_name",
            f"Type the project's name exactly as shown ({project.name}) to delete it.",
        )
    now = utcnow()
    project.deletion_requested_at = now
    project.deletion_due_at = jobs.due_at(now)
    # The same instant marks the workflows this request hid, so that a cancel brings back
    # exactly those and not the ones deleted before.
    db.session.execute(
        update(Workflow)
        .where(Workflow.project_id == project.id, Workflow.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    audit.record(
        ITEM,
        project.id,
        "deleted",
        actor.id,
        {"name": project.name, "purge_on": project.deletion_due_at.isoformat()},
        project_id=project.id,
    )
    db.session.commit()
    if not jobs.grace_period():
        jobs.enqueue_project(project.id)
    return project


def scheduled_for(user: User) -> list[ScheduledProject]:
    """The deleted projects not purged yet that `user` may bring back: those they own, or
    every one for a superuser; soonest purge first."""
    statement = (
        select(Project)
        .where(Project.deletion_requested_at.is_not(None))
        .order_by(Project.deletion_due_at, Project.name)
    )
    if not user.is_superuser:
        statement = statement.join(ProjectMember, ProjectMember.project_id == Project.id).where(
            ProjectMember.user_id == user.id, ProjectMember.role == Role.OWNER
        )
    now = utcnow()
    return [
        ScheduledProject(
            id=project.id,
            name=project.name,
            due_at=project.deletion_due_at or project.deletion_requested_at,
            cancellable=not _due(project, now),
        )
        for project in db.session.scalars(statement)
    ]


def cancel_deletion(actor: User, project_id: uuid.UUID) -> Project:
    """Bring a deleted project back as it was, before its grace period ends (its owner or a
    superuser): the workflows that deletion hid come back, none deleted earlier."""
    project = db.session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None or not _may_cancel(actor, project.id):
        raise NotFound(GONE)
    if project.deletion_requested_at is None:
        raise Conflict(f"“{project.name}” is not scheduled for deletion.")
    if _due(project, utcnow()):
        # The purge may be deleting its history right now: a half-purged project must not
        # come back looking whole.
        raise Conflict(
            f"“{project.name}” can no longer be restored: its grace period ended and its "
            "data is being removed."
        )
    if not _has_owner(project.id):
        raise Conflict(
            f"“{project.name}” cannot come back: its owner's account was deleted meanwhile, "
            "and a project always has an owner."
        )
    restored = db.session.execute(
        update(Workflow)
        .where(
            Workflow.project_id == project.id,
            Workflow.deleted_at == project.deletion_requested_at,
        )
        .values(deleted_at=None)
    ).rowcount
    project.deletion_requested_at = project.deletion_due_at = None
    audit.record(
        ITEM,
        project.id,
        "deletion_cancelled",
        actor.id,
        {"name": project.name, "workflows_restored": restored},
        project_id=project.id,
    )
    db.session.commit()
    return project


def purge(project_id: uuid.UUID) -> bool:
    """Remove a deleted project whose grace period has ended, in batches (history first, so
    that no single statement holds locks for long). False when there is nothing to do: the
    project is gone already, is live (never deleted, or the deletion was cancelled), or its
    grace period has not ended yet; a job queued before a cancel thus does nothing."""
    project = db.session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None or project.deletion_requested_at is None:
        db.session.rollback()
        return False
    if not _due(project, utcnow()):
        log.info(
            "Project %s is not due for purging before %s.", project_id, project.deletion_due_at
        )
        db.session.rollback()
        return False
    name = project.name
    # From here on a cancel is refused (the due time has passed), so committing each batch
    # (which releases the row lock) cannot let the project come back half-purged.
    for model in (WorkOrder, Dataclip):  # runs, step runs and logs go with their work order
        while True:
            batch = select(model.id).where(model.project_id == project_id).limit(BATCH)
            ids = list(db.session.scalars(batch))
            if not ids:
                break
            db.session.execute(delete(model).where(model.id.in_(ids)))
            db.session.commit()
    # Workflows, snapshots, members, shares and invitations go with the row (ON DELETE
    # CASCADE); audit entries have no foreign key and stay.
    audit.record(ITEM, project_id, "purged", None, {"name": name}, project_id=project_id)
    db.session.execute(delete(Project).where(Project.id == project_id))
    db.session.commit()
    log.info("Project %s (%s) purged.", project_id, name)
    return True


def due_ids(now: datetime) -> list[uuid.UUID]:
    """Deleted projects whose grace period has ended (deletions from before grace periods
    existed have no due time and are due)."""
    return list(
        db.session.scalars(
            select(Project.id).where(
                Project.deletion_requested_at.is_not(None),
                or_(Project.deletion_due_at.is_(None), Project.deletion_due_at <= now),
            )
        )
    )


def _due(project: Project, now: datetime) -> bool:
    due = project.deletion_due_at
    return due is None or jobs.aware(due) <= now


def _may_cancel(actor: User, project_id: uuid.UUID) -> bool:
    return actor.is_superuser or project_service.role_in_project(actor, project_id) is Role.OWNER


def _has_owner(project_id: uuid.UUID) -> bool:
    return (
        db.session.scalar(
            select(ProjectMember.user_id).where(
                ProjectMember.project_id == project_id, ProjectMember.role == Role.OWNER
            )
        )
        is not None
    )
