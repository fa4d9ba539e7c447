"""Mail that could not be delivered, for the superusers' Mail page: the list (a page at a time)
and "Retry now".

Undelivered means failed (the SMTP server was down or refused; the queue may still be retrying)
or queued for longer than STALE_AFTER (no mail worker took it). The page shows recipient,
subject, attempts and the error, never a body: bodies may hold one-time links (password
resets, invitations) meant for the recipient only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import MailMessage, MailStatus
from app.models.base import utcnow
from app.services import audit, mail
from app.services.audit_log import page_size
from app.services.errors import Conflict, Invalid, NotFound
from app.services.history.filters import decode_cursor, encode_cursor

STALE_AFTER = timedelta(minutes=5)
PAGE_LINK_BROKEN = "This page link is not valid; go back to the first page of undelivered mail."


@dataclass(frozen=True)
class Undelivered:
    """One message as the Mail page shows it (no body)."""

    id: uuid.UUID
    to_address: str
    subject: str
    status: MailStatus
    attempts: int
    error: str | None
    inserted_at: datetime
    retrying: bool  # failed, and the queue still has attempts left


@dataclass(frozen=True)
class UndeliveredPage:
    """One page of messages, newest first, and the cursor of the next page (None at the end)."""

    messages: list[Undelivered]
    next_cursor: str | None


def _undelivered(now: datetime):
    return or_(
        MailMessage.status == MailStatus.FAILED,
        and_(MailMessage.status == MailStatus.QUEUED, MailMessage.inserted_at < now - STALE_AFTER),
    )


def page(*, cursor: object = None, limit: object = None) -> UndeliveredPage:
    """Undelivered messages, newest first, cut by a cursor over (inserted_at, id)."""
    size = page_size(limit)
    query = select(MailMessage).where(_undelivered(utcnow()))
    if cursor:
        if not isinstance(cursor, str) or len(cursor) > 200:
            raise Invalid("cursor", PAGE_LINK_BROKEN)
        moment, row_id = decode_cursor(cursor, PAGE_LINK_BROKEN)
        query = query.where(
            MailMessage.inserted_at <= moment,
            tuple_(MailMessage.inserted_at, MailMessage.id) < tuple_(moment, row_id),
        )
    rows = list(
        db.session.scalars(
            query.order_by(MailMessage.inserted_at.desc(), MailMessage.id.desc()).limit(size + 1)
        )
    )
    more = len(rows) > size
    rows = rows[:size]
    return UndeliveredPage(
        messages=[_shown(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].inserted_at, rows[-1].id) if more else None,
    )


def retry_now(actor_id: uuid.UUID, message_id: uuid.UUID) -> Undelivered:
    """Queue one more delivery of an undelivered message now, with a fresh set of retries.

    NotFound for an unknown id; Conflict when it was delivered meanwhile or a job is sending it
    at this moment. Commits."""
    try:
        message = db.session.execute(
            select(MailMessage)
            .where(MailMessage.id == message_id)
            .with_for_update(nowait=True)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
    except OperationalError:
        # A mail job holds the row while it talks to the SMTP server.
        db.session.rollback()
        raise Conflict("This message is being delivered right now; reload in a moment.") from None
    if message is None:
        raise NotFound("This mail message does not exist.")
    if message.status in {MailStatus.SENT, MailStatus.OUTBOX}:
        db.session.rollback()
        raise Conflict("This message was delivered meanwhile; there is nothing to retry.")
    # The status stays as it is (failed, or queued and stale) until the job has delivered it.
    audit.record(
        "mail_message", message.id, "mail_retried", actor_id, {"attempts": message.attempts}
    )
    db.session.commit()
    # Any retry still scheduled for it finds it delivered (or runs the next attempt): the row
    # lock in mail.deliver keeps it to one send.
    mail.enqueue_delivery(message.id)
    return _shown(message)


def _shown(message: MailMessage) -> Undelivered:
    return Undelivered(
        id=message.id,
        to_address=message.to_address,
        subject=message.subject,
        status=message.status,
        attempts=message.attempts,
        error=message.error,
        inserted_at=message.inserted_at,
        retrying=message.status is MailStatus.FAILED and message.attempts < mail.MAX_ATTEMPTS,
    )
