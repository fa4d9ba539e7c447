"""Queueing git syncs: the small hook a workflow save calls, and the button's enqueue.

Kept apart from `sync` (which exports and imports project documents) so that the workflow
store can call it without an import circle.
"""

from __future__ import annotations

import logging
import uuid

from redis.exceptions import RedisError

from app.extensions import DEFAULT_QUEUE, db, queue
from app.models.git_remotes import ProjectGitRemote

log = logging.getLogger("ferry.git_sync")

JOB = "workers.git_jobs.sync_project"
# After a save; "Pull from git" (which also looks again at a standing conflict); the two
# ways out of a conflict.
SYNC = "sync"
PULL = "pull"
KEEP_OURS = "ours"
TAKE_THEIRS = "theirs"
MODES = (SYNC, PULL, KEEP_OURS, TAKE_THEIRS)


def saved(
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    workflow_id: uuid.UUID,
    version: int | None,
) -> None:
    """After a committed save (`version` None: a deletion): queue a sync when the project is
    connected to git (one primary-key lookup). Never fails the save: without Redis the sync
    waits for the next. Writes nothing, so a caller's transaction is left as it was."""
    if db.session.get(ProjectGitRemote, project_id) is None:
        return
    _queue(project_id, actor_id, SYNC, workflow_id, version)


def enqueue(
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    mode: str = PULL,
    *,
    workflow_id: uuid.UUID | None = None,
    version: int | None = None,
) -> bool:
    """Queue a sync job and mark the remote pending; False when Redis is down."""
    remote = db.session.get(ProjectGitRemote, project_id)
    if remote is None:
        return False
    # Pending before the job exists: a quick worker's outcome is never overwritten by it.
    remote.status, remote.last_error = "pending", None
    db.session.commit()
    if not _queue(project_id, actor_id, mode, workflow_id, version):
        remote.status = "failed"
        remote.last_error = "The sync could not be queued (Redis is unreachable); try again."
        db.session.commit()
        return False
    return True


def _queue(
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    mode: str,
    workflow_id: uuid.UUID | None,
    version: int | None,
) -> bool:
    """Queue the job with ids only."""
    try:
        queue(DEFAULT_QUEUE).enqueue(
            JOB,
            str(project_id),
            str(actor_id) if actor_id else None,
            mode,
            str(workflow_id) if workflow_id else None,
            version,
            description=f"git sync of project {project_id}",
        )
    except (RedisError, OSError) as error:
        log.warning("git sync of project %s not queued (%s)", project_id, error)
        return False
    return True
