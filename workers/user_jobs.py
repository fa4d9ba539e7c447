"""RQ job: purge a deleted user (queued by `app.services.deletions`)."""

from __future__ import annotations

import uuid

from app.extensions import db


def delete_user(user_id: str) -> bool:
    """Destroy the user's credentials and remove the account once the grace period has
    ended; does nothing before then or after a cancel. Audit entries stay."""
    from app.services.deletions import users

    try:
        return users.purge(uuid.UUID(user_id))
    finally:
        db.session.remove()
