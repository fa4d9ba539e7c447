"""Bulk reruns: one row per request (its progress is the truth the live view renders), and the
work orders it still has to rerun."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, enum_type, utcnow, uuid_pk


class BulkRerunState(enum.StrEnum):
    """queued -> running -> finished, or failed when the job raised; a resume queues it again."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class BulkRerun(db.Model):
    """One bulk rerun request and how far its background job has got."""

    __tablename__ = "bulk_reruns"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    step_key: Mapped[str | None] = mapped_column(sa.String(100))  # rerun from this step
    state: Mapped[BulkRerunState] = mapped_column(
        enum_type(BulkRerunState, "bulk_rerun_state"),
        default=BulkRerunState.QUEUED,
        server_default="queued",
    )
    total: Mapped[int]
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    created: Mapped[int] = mapped_column(default=0, server_default="0")  # new runs queued
    skipped: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)
    inserted_at: Mapped[datetime] = created_at()
    # Moved by every batch, so a silent row (a worker that died) shows since when it is silent.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=sa.func.now())
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        sa.Index(None, "project_id", "inserted_at"),
        sa.CheckConstraint("done >= 0 AND done <= total", name="done_within_total"),
    )


class BulkRerunItem(db.Model):
    """A work order a bulk rerun has yet to rerun; deleted in the batch that reruns it, so
    a resumed job picks up exactly the rest."""

    __tablename__ = "bulk_rerun_items"

    bulk_rerun_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("bulk_reruns.id", ondelete="CASCADE"), primary_key=True
    )
    work_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True, index=True
    )
