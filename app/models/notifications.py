"""Who hears about what: per-workflow alert choices, the alert log, the rate-limit windows
of failure alerts, and the record of digests sent (one per member and period)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, uuid_pk


class WorkflowAlertChoice(db.Model):
    """A member's choice for one workflow, overriding their project-wide failure alerts."""

    __tablename__ = "workflow_alert_choices"

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("project_members.id", ondelete="CASCADE")
    )
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    enabled: Mapped[bool]

    __table_args__ = (
        sa.UniqueConstraint("member_id", "workflow_id"),
        sa.Index(None, "workflow_id"),
    )


class AlertLogEntry(db.Model):
    """One alert Ferry sent, held back or failed to send: what admins read on the alert log.

    `recipient` is an email address or, for the HTTP channel, the endpoint's host; `status`
    is sent, queued, suppressed (over the rate limit) or failed, with `detail` saying why.
    """

    __tablename__ = "alert_log"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="SET NULL")
    )
    run_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="SET NULL"))
    mail_message_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("mail_messages.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(sa.String(16))  # email | http
    kind: Mapped[str] = mapped_column(sa.String(16))  # failure | summary | test | digest | change
    recipient: Mapped[str] = mapped_column(sa.String(400))
    status: Mapped[str] = mapped_column(sa.String(16))  # queued | sent | suppressed | failed
    detail: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (
        sa.Index(None, "project_id", "inserted_at"),
        sa.Index(None, "run_id"),
    )


class AlertWindow(db.Model):
    """The rate-limit window of failure alerts for one workflow and one recipient.

    Alerts inside the window are counted in `sent` up to the project's limit; the rest are
    counted in `suppressed`, and when the window ends one summary covers them. `recipient`
    is `user:<id>` or `http` for the project's HTTP channel. The row is locked while an
    alert decides, so parallel failures count exactly.
    """

    __tablename__ = "alert_windows"

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    recipient: Mapped[str] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    sent: Mapped[int] = mapped_column(default=0, server_default="0")
    suppressed: Mapped[int] = mapped_column(default=0, server_default="0")
    first_suppressed_at: Mapped[datetime | None]
    last_suppressed_at: Mapped[datetime | None]
    # Set when the summary of this window's suppressed alerts has been queued.
    summarised_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("workflow_id", "recipient"),
        sa.Index(None, "ends_at"),
    )


class DigestSend(db.Model):
    """A digest sent to one member for one period: the unique key makes it exactly-once,
    even with two schedulers running."""

    __tablename__ = "digest_sends"

    id: Mapped[uuid.UUID] = uuid_pk()
    member_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("project_members.id", ondelete="CASCADE")
    )
    period_key: Mapped[str] = mapped_column(sa.String(40))  # e.g. daily:2026-12-02
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.UniqueConstraint("member_id", "period_key"),)
