"""RQ job: mail the change notice of one workflow save (queued by
`app.services.notifications.change_notices.notify`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.extensions import db


def change_notice(
    workflow_id: str,
    actor_id: str | None,
    event: str,
    old_version: int | None,
    new_version: int,
    at: str,
) -> int:
    """Compare the two versions and mail the members who asked for change notices."""
    from app.services.notifications import change_notices

    try:
        return change_notices.send(
            uuid.UUID(workflow_id),
            uuid.UUID(actor_id) if actor_id else None,
            event,
            old_version,
            new_version,
            datetime.fromisoformat(at),
        )
    finally:
        db.session.remove()
