"""Reading a project's alert log a page at a time, newest first: what was sent to whom and
when, what the rate limit held back, what failed to send and why.

Pages are cut by a cursor over (inserted_at, id), as on the audit log, so a flood of
alerts written meanwhile does not shift the pages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_

from app.extensions import db
from app.models import AlertLogEntry, Workflow
from app.services.audit_log import page_size
from app.services.errors import Invalid
from app.services.history.filters import decode_cursor, encode_cursor

STATUSES = ("queued", "sent", "suppressed", "failed")
KINDS = ("failure", "summary", "test", "digest", "change")
PAGE_LINK_BROKEN = "This page link is not valid; go back to the first page of the alert log."


@dataclass(frozen=True)
class LogLine:
    """One entry as the alert log page shows it."""

    id: uuid.UUID
    at: datetime
    kind: str
    channel: str
    recipient: str
    status: str
    detail: str
    workflow: str | None
    run_id: uuid.UUID | None


@dataclass(frozen=True)
class LogPage:
    """One page of entries and the cursor of the next one (None at the end)."""

    lines: list[LogLine]
    next_cursor: str | None
    status: str | None
    kind: str | None


def page(
    project_id: uuid.UUID,
    *,
    status: object = None,
    kind: object = None,
    cursor: object = None,
    limit: object = None,
) -> LogPage:
    """The project's alert log, newest first, optionally of one status and/or kind."""
    size = page_size(limit)
    chosen_status = _choice(status, STATUSES, "status")
    chosen_kind = _choice(kind, KINDS, "kind")
    query = (
        select(AlertLogEntry, Workflow.name)
        .outerjoin(Workflow, Workflow.id == AlertLogEntry.workflow_id)
        .where(AlertLogEntry.project_id == project_id)
    )
    if chosen_status:
        query = query.where(AlertLogEntry.status == chosen_status)
    if chosen_kind:
        query = query.where(AlertLogEntry.kind == chosen_kind)
    if cursor:
        if not isinstance(cursor, str) or len(cursor) > 200:
            raise Invalid("cursor", PAGE_LINK_BROKEN)
        moment, row_id = decode_cursor(cursor, PAGE_LINK_BROKEN)
        query = query.where(
            AlertLogEntry.inserted_at <= moment,
            tuple_(AlertLogEntry.inserted_at, AlertLogEntry.id) < tuple_(moment, row_id),
        )
    rows = db.session.execute(
        query.order_by(AlertLogEntry.inserted_at.desc(), AlertLogEntry.id.desc()).limit(size + 1)
    ).all()
    more = len(rows) > size
    lines = [
        LogLine(
            entry.id,
            entry.inserted_at,
            entry.kind,
            entry.channel,
            entry.recipient,
            entry.status,
            entry.detail,
            name,
            entry.run_id,
        )
        for entry, name in rows[:size]
    ]
    last = lines[-1] if lines else None
    return LogPage(
        lines,
        encode_cursor(last.at, last.id) if more and last else None,
        chosen_status,
        chosen_kind,
    )


def _choice(raw: object, allowed: tuple[str, ...], field: str) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise Invalid(field, f"Choose a {field} from the list: {', '.join(allowed)}.")
    return raw  # type: ignore[return-value]
