"""History exports: one row per request (its progress is what the page shows) and the zip it
produced, kept in the database in parts so that any web machine can serve the download."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, enum_type, utcnow, uuid_pk


class HistoryExportState(enum.StrEnum):
    """queued -> running -> ready, or failed when the job raised; expired once the link lapsed."""

    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class HistoryExport(db.Model):
    """One export of a project's history for a filter, and how far its job has got."""

    __tablename__ = "history_exports"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # The history filter as the history page's query string parameters.
    filters: Mapped[dict] = mapped_column(default=dict)
    include_dataclips: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    state: Mapped[HistoryExportState] = mapped_column(
        enum_type(HistoryExportState, "history_export_state"),
        default=HistoryExportState.QUEUED,
        server_default="queued",
    )
    total: Mapped[int] = mapped_column(default=0, server_default="0")  # work orders to export
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.Text)
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=sa.func.now())
    finished_at: Mapped[datetime | None]
    # The download link works until then (a day after the export was ready).
    expires_at: Mapped[datetime | None]

    __table_args__ = (
        sa.Index(None, "project_id", "inserted_at"),
        sa.Index(None, "expires_at"),
        sa.CheckConstraint("done >= 0", name="done_not_negative"),
    )


class HistoryExportPart(db.Model):
    """A piece of an export's zip file, in order; the download streams them one by one."""

    __tablename__ = "history_export_parts"

    export_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("history_exports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
