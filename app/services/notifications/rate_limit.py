"""The rate limit of failure alerts: per workflow and recipient, a window of the project's
length in which only the first `limit` alerts go out; the rest are counted, and one summary
covers them once the window has ended.

The window row is locked (INSERT ... ON CONFLICT DO NOTHING, then SELECT ... FOR UPDATE)
while an alert decides, so hundreds of parallel failures count exactly. A summary is
claimed by setting `summarised_at` in the same statement that checks it is unset, so two
schedulers (or a scheduler and an alert job) send it once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models.notifications import AlertWindow

HTTP_RECIPIENT = "http"


def user_recipient(user_id: uuid.UUID) -> str:
    """The window key of a member's mail alerts."""
    return f"user:{user_id}"


@dataclass(frozen=True)
class WindowSummary:
    """The alerts a window held back, ready for one summary."""

    workflow_id: uuid.UUID
    recipient: str
    count: int
    started_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Decision:
    """What to do with one alert: send it (and whether it is the last one the window lets
    through), or count it as suppressed. `summary` is an ended window's summary this call
    claimed (its sender must send it)."""

    send: bool
    last: bool
    until: datetime
    summary: WindowSummary | None = None


def decide(
    workflow_id: uuid.UUID, recipient: str, limit: int, minutes: int, now: datetime
) -> Decision:
    """Count one alert in its window; the caller commits (which releases the row lock)."""
    limit, length = max(1, limit), timedelta(minutes=max(1, minutes))
    db.session.execute(
        insert(AlertWindow)
        .values(
            id=uuid.uuid4(),
            workflow_id=workflow_id,
            recipient=recipient,
            started_at=now,
            ends_at=now + length,
            sent=0,
            suppressed=0,
        )
        .on_conflict_do_nothing(index_elements=["workflow_id", "recipient"])
    )
    window = db.session.scalars(
        select(AlertWindow)
        .where(AlertWindow.workflow_id == workflow_id, AlertWindow.recipient == recipient)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    summary = None
    if window.ends_at <= now:
        if window.suppressed and window.summarised_at is None:
            summary = _summary(window)
        window.started_at, window.ends_at = now, now + length
        window.sent = window.suppressed = 0
        window.first_suppressed_at = window.last_suppressed_at = window.summarised_at = None
    if window.sent < limit:
        window.sent += 1
        return Decision(True, window.sent == limit, window.ends_at, summary)
    window.suppressed += 1
    window.first_suppressed_at = window.first_suppressed_at or now
    window.last_suppressed_at = now
    return Decision(False, False, window.ends_at, summary)


def claim_due_summaries(now: datetime, batch: int = 200) -> list[WindowSummary]:
    """Claim the summaries of ended windows that held alerts back, and commit the claim."""
    rows = db.session.execute(
        update(AlertWindow)
        .where(
            AlertWindow.ends_at <= now,
            AlertWindow.suppressed > 0,
            AlertWindow.summarised_at.is_(None),
            AlertWindow.id.in_(
                select(AlertWindow.id)
                .where(
                    AlertWindow.ends_at <= now,
                    AlertWindow.suppressed > 0,
                    AlertWindow.summarised_at.is_(None),
                )
                .limit(batch)
            ),
        )
        .values(summarised_at=now)
        .returning(
            AlertWindow.workflow_id,
            AlertWindow.recipient,
            AlertWindow.suppressed,
            AlertWindow.started_at,
            AlertWindow.ends_at,
        )
    ).all()
    db.session.commit()
    return [WindowSummary(*row) for row in rows]


def _summary(window: AlertWindow) -> WindowSummary:
    window.summarised_at = window.ends_at
    return WindowSummary(
        window.workflow_id, window.recipient, window.suppressed, window.started_at, window.ends_at
    )
