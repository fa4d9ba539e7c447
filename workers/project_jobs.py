"""RQ job: purge a deleted project's data (queued by `app.services.deletions`)."""

from __future__ import annotations

import uuid

from app.extensions import db


def delete_project(project_id: str) -> bool:
    """Delete the project's history, workflows and memberships once its grace period has
    ended; does nothing before then or after a cancel. Its audit entries stay."""
    from app.services.deletions import projects

    try:
        return projects.purge(uuid.UUID(project_id))
    finally:
        db.session.remove()
