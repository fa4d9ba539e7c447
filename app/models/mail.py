"""Outgoing mail: every message is a row first, so nothing is lost if delivery fails."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, enum_type, uuid_pk


class MailStatus(enum.StrEnum):
    """Where a message is: waiting for the worker, delivered, kept in the development
    outbox (no MAIL_URL), or failed after its retries."""

    QUEUED = "queued"
    SENT = "sent"
    OUTBOX = "outbox"
    FAILED = "failed"


class MailMessage(db.Model):
    """One email to one recipient: plain text, and optionally the same as HTML."""

    __tablename__ = "mail_messages"

    id: Mapped[uuid.UUID] = uuid_pk()
    to_address: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    # The same message as HTML (sent as multipart/alternative); None for plain text only.
    html: Mapped[str | None] = mapped_column(sa.Text)
    # The signed "turn these mails off" link, sent as List-Unsubscribe (RFC 2369) with
    # one-click (RFC 8058), so mail clients show their own unsubscribe button.
    unsubscribe_url: Mapped[str | None] = mapped_column(sa.String(2000))
    status: Mapped[MailStatus] = mapped_column(
        enum_type(MailStatus, "mail_status"), default=MailStatus.QUEUED, server_default="queued"
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)
    inserted_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime | None]

    __table_args__ = (sa.Index(None, "inserted_at"),)
