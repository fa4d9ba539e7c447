"""RQ job: remove a deleted project's data (queued by `app.services.project_settings`)."""

from __future__ import annotations

import uuid

from app.extensions import db


def delete_project(project_id: str) -> bool:
    """Delete the project's history, workflows and memberships; its audit entries stay."""
    from app.services import project_settings

    try:
        return project_settings.delete_project_data(uuid.UUID(project_id))
    finally:
        db.session.remove()
