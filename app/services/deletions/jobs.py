"""The grace period before a purge, and queueing the purge jobs (ids only, after commit)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError

from app.services.background_jobs import enqueue_once

PROJECT_JOB = "workers.project_jobs.delete_project"
USER_JOB = "workers.user_jobs.delete_user"

log = logging.getLogger(__name__)


def grace_period() -> timedelta:
    """How long a deletion may be cancelled before its data is purged."""
    return timedelta(days=current_app.config["FERRY_SETTINGS"].deletion_grace_days)


def due_at(now: datetime) -> datetime:
    """When a deletion requested at `now` is purged."""
    return now + grace_period()


def purge_date_if_deleted_now() -> datetime | None:
    """When a deletion requested now would be purged; None when the purge is immediate
    (FERRY_DELETION_GRACE_DAYS=0), so that forms say there is no way back."""
    if not grace_period():
        return None
    return due_at(datetime.now(UTC))


def aware(moment: datetime) -> datetime:
    """`moment` with its UTC zone: SQLite (the demo) hands back naive datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day(moment: datetime) -> str:
    """A purge date as messages write it: "12 Mar 2026"."""
    return f"{moment:%d %b %Y}"


def enqueue(function: str, item_id: uuid.UUID, job_id: str) -> bool:
    """Queue a purge job unless the same one is queued or running already; False when Redis
    could not be reached (the scheduler queues it again later, so nothing is lost)."""
    try:
        enqueue_once(function, str(item_id), job_id=job_id, timeout_s=3600)
        return True
    except RedisError:
        log.warning("Could not queue %s for %s; the scheduler retries it.", function, item_id)
        return False


def enqueue_project(project_id: uuid.UUID) -> bool:
    """Queue the purge of a project (see `deletions.projects.purge`)."""
    return enqueue(PROJECT_JOB, project_id, f"ferry-delete-project-{project_id}")


def enqueue_user(user_id: uuid.UUID) -> bool:
    """Queue the purge of a user (see `deletions.users.purge`)."""
    return enqueue(USER_JOB, user_id, f"ferry-delete-user-{user_id}")
