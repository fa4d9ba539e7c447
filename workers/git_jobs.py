"""RQ job: sync one project with its git remote (queued by `app.services.git_sync.sync`)."""

from __future__ import annotations

import uuid

from app.extensions import db


def sync_project(
    project_id: str,
    actor_id: str | None,
    mode: str,
    workflow_id: str | None = None,
    version: int | None = None,
) -> str:
    """Commit and push the project, or pull git's changes in; returns the sync's status."""
    from app.services.git_sync import sync

    try:
        return sync.run(
            uuid.UUID(project_id),
            uuid.UUID(actor_id) if actor_id else None,
            mode,
            workflow_id=uuid.UUID(workflow_id) if workflow_id else None,
            version=version,
        )
    finally:
        db.session.remove()
