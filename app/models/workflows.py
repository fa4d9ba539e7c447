"""Workflows and their parts: triggers, steps, edges, and immutable snapshots."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import created_at, enum_type, updated_at, uuid_pk


class TriggerType(enum.StrEnum):
    """What starts a workflow (manual runs need no trigger row)."""

    WEBHOOK = "webhook"
    CRON = "cron"


class WebhookAuth(enum.StrEnum):
    """How a webhook caller proves who it is."""

    NONE = "none"
    API_KEY = "api_key"
    BASIC = "basic"


class WebhookReply(enum.StrEnum):
    """When a webhook answers: on acceptance, or after the run finished (sync reply)."""

    BEFORE_START = "before_start"
    AFTER_COMPLETION = "after_completion"


class CronInput(enum.StrEnum):
    """What a cron run receives as input."""

    LAST_SUCCESS = "last_success"  # the final state of the workflow's last successful run
    STEP_OUTPUT = "step_output"  # a chosen step's last successful output
    EMPTY = "empty"  # always {}


class EdgeCondition(enum.StrEnum):
    """When an edge is followed."""

    ALWAYS = "always"
    ON_JOB_SUCCESS = "on_job_success"
    ON_JOB_FAILURE = "on_job_failure"
    EXPRESSION = "expression"


class Workflow(db.Model):
    """A graph of triggers and steps joined by edges; `lock_version` guards concurrent edits."""

    __tablename__ = "workflows"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    # At most this many runs at once (1 = strictly one at a time, in arrival order).
    concurrency: Mapped[int | None]
    # Automatic retries for every step that has no policy of its own (None: no retries);
    # the keys are checked by `app.services.runs.retry_policy`.
    retry_policy: Mapped[dict | None]
    # Canvas node positions: {node_id: {"x": .., "y": ..}}.
    positions: Mapped[dict] = mapped_column(default=dict)
    lock_version: Mapped[int] = mapped_column(default=1, server_default="1")
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    triggers = relationship(
        "Trigger", back_populates="workflow", lazy="raise", cascade="all, delete-orphan"
    )
    steps = relationship(
        "Step", back_populates="workflow", lazy="raise", cascade="all, delete-orphan"
    )
    edges = relationship(
        "Edge", back_populates="workflow", lazy="raise", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("project_id", "name"),
        sa.CheckConstraint("concurrency IS NULL OR concurrency > 0", name="concurrency_positive"),
    )


class Trigger(db.Model):
    """A webhook or cron trigger of a workflow; `key` is its name in the YAML format."""

    __tablename__ = "triggers"

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[TriggerType] = mapped_column(enum_type(TriggerType, "trigger_type"))
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Webhook settings.
    custom_path: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    webhook_auth: Mapped[WebhookAuth] = mapped_column(
        enum_type(WebhookAuth, "webhook_auth"), default=WebhookAuth.NONE, server_default="none"
    )
    webhook_username: Mapped[str | None] = mapped_column(sa.String(200))
    # The API key or Basic password, encrypted with the instance key ring.
    webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    webhook_reply: Mapped[WebhookReply] = mapped_column(
        enum_type(WebhookReply, "webhook_reply"),
        default=WebhookReply.BEFORE_START,
        server_default="before_start",
    )
    # An HMAC signature the caller must send (None: none required): the header carrying
    # it, sha256 or sha1, the shared secret (encrypted), and optionally a timestamp header
    # whose value must be within the replay window and is part of what is signed.
    webhook_signature_header: Mapped[str | None] = mapped_column(sa.String(100))
    webhook_signature_algorithm: Mapped[str | None] = mapped_column(sa.String(10))
    webhook_signature_secret_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    webhook_timestamp_header: Mapped[str | None] = mapped_column(sa.String(100))
    webhook_replay_window_s: Mapped[int] = mapped_column(default=300, server_default="300")
    # At most this many accepted requests a minute (None: the instance's
    # FERRY_WEBHOOK_REQUESTS_PER_MINUTE); more answer 429 with Retry-After, nothing stored.
    webhook_requests_per_minute: Mapped[int | None]
    # Cron settings.
    cron_expression: Mapped[str | None] = mapped_column(sa.String(200))
    cron_timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    cron_input: Mapped[CronInput] = mapped_column(
        enum_type(CronInput, "cron_input"),
        default=CronInput.LAST_SUCCESS,
        server_default="last_success",
    )
    cron_input_step_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("steps.id", ondelete="SET NULL")
    )
    # The last tick a scheduler created a work order for; the unique claim lives on work orders.
    cron_last_tick_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    workflow = relationship("Workflow", back_populates="triggers", lazy="raise")

    __table_args__ = (
        sa.UniqueConstraint("workflow_id", "key"),
        sa.CheckConstraint(
            "type <> 'cron' OR cron_expression IS NOT NULL", name="cron_needs_expression"
        ),
        sa.CheckConstraint(
            "webhook_signature_algorithm IS NULL OR webhook_signature_algorithm IN "
            "('sha256', 'sha1')",
            name="signature_algorithm_known",
        ),
        sa.CheckConstraint("webhook_replay_window_s > 0", name="replay_window_positive"),
        sa.CheckConstraint(
            "webhook_requests_per_minute IS NULL OR webhook_requests_per_minute > 0",
            name="requests_per_minute_positive",
        ),
    )


class WebhookSignatureSeen(db.Model):
    """A signature a signed webhook accepted, kept for its replay window: the same
    signature again is a replay and is refused. Inserted in the request's own transaction,
    so a refused replay stores nothing and two copies racing cannot both be accepted."""

    __tablename__ = "webhook_signatures_seen"

    trigger_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("triggers.id", ondelete="CASCADE"), primary_key=True
    )
    # SHA-256 (hex) of the decoded signature bytes: fixed size whatever the caller sent, and
    # the same whether the signature came as hex or base64 (a re-encoded replay is caught).
    signature_digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    seen_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.Index(None, "seen_at"),)


class Step(db.Model):
    """One unit of work (a job): adaptor, optional credential, and a job-expression body."""

    __tablename__ = "steps"

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    adaptor: Mapped[str] = mapped_column(sa.String(100))  # "name@version", e.g. "http@1"
    credential_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("credentials.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Automatic retries of this step (None: the workflow's policy applies).
    retry_policy: Mapped[dict | None]
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    workflow = relationship("Workflow", back_populates="steps", lazy="raise")

    __table_args__ = (
        sa.UniqueConstraint("workflow_id", "key"),
        sa.Index(None, "credential_id"),
    )


class Edge(db.Model):
    """A connection from a trigger or a step to a step, with its condition."""

    __tablename__ = "edges"

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    source_trigger_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("triggers.id", ondelete="CASCADE")
    )
    source_step_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("steps.id", ondelete="CASCADE")
    )
    target_step_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("steps.id", ondelete="CASCADE"))
    condition_type: Mapped[EdgeCondition] = mapped_column(
        enum_type(EdgeCondition, "edge_condition"),
        default=EdgeCondition.ALWAYS,
        server_default="always",
    )
    condition_expression: Mapped[str | None] = mapped_column(sa.Text)
    condition_label: Mapped[str | None] = mapped_column(sa.String(200))
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    inserted_at: Mapped[datetime] = created_at()

    workflow = relationship("Workflow", back_populates="edges", lazy="raise")

    __table_args__ = (
        sa.CheckConstraint(
            "(source_trigger_id IS NULL) <> (source_step_id IS NULL)", name="one_source"
        ),
        sa.CheckConstraint(
            "condition_type <> 'expression' OR condition_expression IS NOT NULL",
            name="expression_needs_text",
        ),
        sa.Index(None, "workflow_id"),
    )


class WorkflowSnapshot(db.Model):
    """An immutable copy of a workflow as saved; every run records the snapshot it ran."""

    __tablename__ = "workflow_snapshots"

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE")
    )
    lock_version: Mapped[int]
    # The whole workflow (triggers, steps, edges, with their ids) as a JSON document.
    definition: Mapped[dict]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # The author's words for this version, and for a restore the version it copied.
    message: Mapped[str | None] = mapped_column(sa.String(500))
    restored_from_version: Mapped[int | None]
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.UniqueConstraint("workflow_id", "lock_version"),)
