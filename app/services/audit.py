"""The audit trail: append-only entries of who did what to which item, and when.

Entries are added to the caller's transaction, so an action and its audit entry are
committed together or not at all. There is deliberately no function to change or delete an
entry (and the model refuses both at the ORM layer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User

CREDENTIAL = "credential"


def record(
    item_type: str,
    item_id: uuid.UUID,
    event: str,
    actor_id: uuid.UUID | None,
    changes: dict | None = None,
    *,
    project_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Add an entry to the current transaction; `changes` must never hold secret values.

    `project_id` puts the entry on that project's audit page (admins read it there);
    superusers read every entry on the instance's audit page.
    """
    entry = AuditEvent(
        item_type=item_type,
        item_id=item_id,
        event=event,
        actor_id=actor_id,
        changes=changes or {},
        project_id=project_id,
    )
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditEntry:
    """An entry as pages show it."""

    event: str
    actor: str
    changes: dict
    at: datetime


def trail(item_type: str, item_id: uuid.UUID) -> list[AuditEntry]:
    """Every entry about one item, newest first, with the actor's display name."""
    rows = db.session.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.item_type == item_type, AuditEvent.item_id == item_id)
        .order_by(AuditEvent.inserted_at.desc(), AuditEvent.id)
    ).all()
    return [
        AuditEntry(
            event=entry.event,
            actor=actor.display_name if actor is not None else "Ferry",
            changes=entry.changes or {},
            at=entry.inserted_at,
        )
        for entry, actor in rows
    ]
