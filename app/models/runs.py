"""What happened: work orders, runs, step runs, dataclips and log lines."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, enum_type, uuid_pk


class RunState(enum.StrEnum):
    """A run's state machine: available -> claimed -> started -> one final state."""

    AVAILABLE = "available"
    CLAIMED = "claimed"
    STARTED = "started"
    SUCCESS = "success"
    FAILED = "failed"
    CRASHED = "crashed"
    KILLED = "killed"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"
    LOST = "lost"

    @property
    def is_final(self) -> bool:
        """True once the run can change no more."""
        return self not in {RunState.AVAILABLE, RunState.CLAIMED, RunState.STARTED}


class WorkOrderState(enum.StrEnum):
    """A work order's state: pending/running while a run is open, else its last run's state."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CRASHED = "crashed"
    KILLED = "killed"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"
    LOST = "lost"


class StepExitReason(enum.StrEnum):
    """Why a step run ended."""

    SUCCESS = "success"
    FAILED = "failed"
    CRASHED = "crashed"
    KILLED = "killed"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"
    LOST = "lost"


class DataclipType(enum.StrEnum):
    """Where a stored JSON body came from."""

    HTTP_REQUEST = "http_request"
    GLOBAL = "global"
    STEP_RESULT = "step_result"
    SAVED_INPUT = "saved_input"


class LogLevel(enum.StrEnum):
    """Severity of a log line."""

    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class LogSource(enum.StrEnum):
    """Who wrote a log line."""

    JOB = "job"
    ADAPTOR = "adaptor"
    RUNTIME = "runtime"


class Dataclip(db.Model):
    """A stored JSON body: a webhook request, a typed input, or a step's output state."""

    __tablename__ = "dataclips"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    type: Mapped[DataclipType] = mapped_column(enum_type(DataclipType, "dataclip_type"))
    body: Mapped[dict | None]
    # Non-JSON webhook bodies (form, XML, text) are kept exactly as received.
    raw_body: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str | None] = mapped_column(sa.String(200))
    # For http_request: method, path, query and headers (auth headers redacted).
    request: Mapped[dict | None]
    name: Mapped[str | None] = mapped_column(sa.String(200))  # saved test inputs have one
    wiped_at: Mapped[datetime | None]  # the body was erased by the retention policy
    # The body was never stored: the project keeps no bodies (zero persistence; the row
    # holds metadata only, and the body lived in Redis only while its run needed it).
    not_stored: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (
        sa.Index(None, "project_id", "inserted_at"),
        # The retention purge looks for bodies not yet wiped, oldest first.
        sa.Index(
            "ix_dataclips_unwiped",
            "project_id",
            "inserted_at",
            postgresql_where=sa.text("wiped_at IS NULL"),
            sqlite_where=sa.text("wiped_at IS NULL"),
        ),
        # Full-text search over a bounded text projection of the body (migration 0003).
        sa.Index(
            "ix_dataclips_search_words",
            sa.text("ferry_dataclip_words(body, raw_body)"),
            postgresql_using="gin",
        ),
    )


class WorkOrder(db.Model):
    """One trigger event (webhook request, cron tick, manual start) and the runs it led to."""

    __tablename__ = "work_orders"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    trigger_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("triggers.id", ondelete="SET NULL")
    )
    snapshot_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("workflow_snapshots.id"))
    dataclip_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("dataclips.id", ondelete="SET NULL")
    )
    state: Mapped[WorkOrderState] = mapped_column(
        enum_type(WorkOrderState, "work_order_state"),
        default=WorkOrderState.PENDING,
        server_default="pending",
    )
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    # The cron tick this work order was made for; unique per trigger, so two schedulers
    # racing for the same tick create one work order.
    cron_tick_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()
    last_activity_at: Mapped[datetime] = created_at()

    __table_args__ = (
        sa.Index(None, "project_id", "inserted_at"),
        sa.Index(None, "project_id", "last_activity_at"),
        sa.Index(None, "workflow_id", "state", "inserted_at"),
        sa.Index(None, "project_id", "state", "inserted_at"),
        sa.Index(None, "workflow_id", "inserted_at"),
        sa.Index(None, "dataclip_id"),
        sa.UniqueConstraint("trigger_id", "idempotency_key"),
        sa.UniqueConstraint("trigger_id", "cron_tick_at"),
    )


class Run(db.Model):
    """One attempt at a work order's workflow from a starting trigger or step."""

    __tablename__ = "runs"

    id: Mapped[uuid.UUID] = uuid_pk()
    work_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("work_orders.id", ondelete="CASCADE")
    )
    # Copied from the work order so claims and the project cap need no join.
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    snapshot_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("workflow_snapshots.id"))
    starting_trigger_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("triggers.id", ondelete="SET NULL")
    )
    starting_step_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("steps.id", ondelete="SET NULL")
    )
    dataclip_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("dataclips.id", ondelete="SET NULL")
    )
    # The output of the last leaf step that finished: what a sync webhook replies with and
    # what the next cron run of the workflow receives.
    final_dataclip_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("dataclips.id", ondelete="SET NULL")
    )
    state: Mapped[RunState] = mapped_column(
        enum_type(RunState, "run_state"), default=RunState.AVAILABLE, server_default="available"
    )
    # Lower goes first: manual runs and retries (0) before webhook and cron runs (1).
    priority: Mapped[int] = mapped_column(sa.SmallInteger, default=1, server_default="1")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    worker_name: Mapped[str | None] = mapped_column(sa.String(200))
    error_type: Mapped[str | None] = mapped_column(sa.String(100))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    inserted_at: Mapped[datetime] = created_at()
    claimed_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    # A run waiting for an automatic retry is `available` but not claimable before this
    # time; the sweeper queues it when it is due. The row is the truth: a worker or Redis
    # restart meanwhile loses nothing.
    available_at: Mapped[datetime | None]
    # Where a waiting run continues: the walk's pending steps (with their input dataclips),
    # the leaves already reached and each step's attempts so far (`workers.resume`).
    resume: Mapped[dict | None]

    __table_args__ = (
        sa.Index(None, "work_order_id"),
        sa.Index(None, "state", "available_at"),
        sa.Index(None, "workflow_id", "state"),
        sa.Index(None, "state", "priority", "inserted_at"),
        sa.Index(None, "project_id", "state"),
        sa.Index(None, "project_id", "inserted_at"),
        # Deleting a dataclip (retention, project deletion) sets these to NULL: without an
        # index each deleted row would scan the whole table.
        sa.Index(None, "dataclip_id"),
        sa.Index(None, "final_dataclip_id"),
    )


class StepRun(db.Model):
    """One step executed inside a run, with its input, output and exit reason."""

    __tablename__ = "step_runs"

    id: Mapped[uuid.UUID] = uuid_pk()
    run_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"))
    # No foreign key: the step may be deleted later while its history stays.
    step_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    step_name: Mapped[str] = mapped_column(sa.String(200))
    input_dataclip_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("dataclips.id", ondelete="SET NULL")
    )
    output_dataclip_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("dataclips.id", ondelete="SET NULL")
    )
    exit_reason: Mapped[StepExitReason | None] = mapped_column(
        enum_type(StepExitReason, "step_exit_reason")
    )
    error_type: Mapped[str | None] = mapped_column(sa.String(100))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    # Which attempt of the step this was (1 unless automatic retries ran it again), and when
    # a failed attempt is retried next (None: it is not).
    attempt: Mapped[int] = mapped_column(sa.SmallInteger, default=1, server_default="1")
    retry_at: Mapped[datetime | None]
    started_at: Mapped[datetime] = created_at()
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        sa.Index(None, "run_id", "started_at"),
        sa.Index(None, "step_id"),
        # For deleting dataclips, as on runs.
        sa.Index(None, "input_dataclip_id"),
        sa.Index(None, "output_dataclip_id"),
    )


class LogLine(db.Model):
    """A line written by job code, an adaptor or the runtime during a run."""

    __tablename__ = "log_lines"

    id: Mapped[uuid.UUID] = uuid_pk()
    run_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"))
    step_run_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("step_runs.id", ondelete="CASCADE")
    )
    level: Mapped[LogLevel] = mapped_column(enum_type(LogLevel, "log_level"))
    source: Mapped[LogSource] = mapped_column(enum_type(LogSource, "log_source"))
    message: Mapped[str] = mapped_column(sa.Text)
    timestamp: Mapped[datetime]

    __table_args__ = (
        sa.Index(None, "run_id", "timestamp"),
        sa.Index(None, "step_run_id"),
        # Substring search over log lines with pg_trgm (migration 0003).
        sa.Index(
            "ix_log_lines_search_text",
            sa.text("left(message, 2048)"),
            postgresql_using="gin",
            postgresql_ops={"left(message, 2048)": "gin_trgm_ops"},
        ),
    )
