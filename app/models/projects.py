"""Projects (the tenant) and their members with roles and alert settings."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import created_at, enum_type, updated_at, uuid_pk


class Role(enum.StrEnum):
    """A member's role in a project, weakest first (see ARCHITECTURE.md, Roles)."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        """Position in the order viewer < editor < admin < owner."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role is at least as strong as `needed`."""
        return self.rank >= needed.rank


class DigestFrequency(enum.StrEnum):
    """How often a member receives the project's run digest by email."""

    NEVER = "never"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Project(db.Model):
    """The tenant: workflows, credentials shared into it, members, and settings."""

    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # At most this many runs of the whole project at once; None means no project cap.
    concurrency: Mapped[int | None]
    # How long work order history and dataclip bodies are kept; None keeps them forever.
    history_retention_days: Mapped[int | None]
    dataclip_retention_days: Mapped[int | None]
    # Hosts/CIDRs that steps may reach although they are private (a DHIS2 on a LAN).
    egress_allowlist: Mapped[list] = mapped_column(default=list)
    # Members without MFA are sent to enrol before they can open the project.
    require_mfa: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Set when the owner deletes the project: it disappears at once, and a background job
    # removes its data (an audit entry about the deletion stays).
    deletion_requested_at: Mapped[datetime | None]
    # When the background purge may start (the grace period's end); until then an owner
    # can cancel the deletion and get the project back as it was.
    deletion_due_at: Mapped[datetime | None]
    # Failure alerts: at most `alert_limit_count` per workflow and recipient within
    # `alert_limit_minutes` (then one summary), and whether mails carry the last 20 log lines.
    alert_limit_count: Mapped[int] = mapped_column(default=3, server_default="3")
    alert_limit_minutes: Mapped[int] = mapped_column(default=5, server_default="5")
    alert_include_logs: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The optional HTTP channel: alerts as JSON, signed with the secret (HMAC-SHA256).
    alert_webhook_url: Mapped[str | None] = mapped_column(sa.String(2000))
    alert_webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # A sandbox: the project it was cloned from, when, and the parent's project document at
    # that moment (a merge warns about what the parent changed since).
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    cloned_at: Mapped[datetime | None]
    sandbox_base: Mapped[dict | None]
    # Limits an admin sets for the project's runs, each within the instance maximum
    # (None: the instance default): run time, memory per step, largest accepted payload,
    # and whether `print`/log output is dropped instead of stored (logs may hold personal data).
    run_timeout_s: Mapped[int | None]
    step_memory_mb: Mapped[int | None]
    max_payload_kb: Mapped[int | None]
    discard_logs: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Zero persistence: input, step and output bodies are never written to the database or
    # the logs; only metadata and states are kept (docs in the project settings page).
    zero_persistence: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    members = relationship(
        "ProjectMember", back_populates="project", lazy="raise", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("concurrency IS NULL OR concurrency > 0", name="concurrency_positive"),
        sa.CheckConstraint(
            "(history_retention_days IS NULL OR history_retention_days > 0)"
            " AND (dataclip_retention_days IS NULL OR dataclip_retention_days > 0)"
            " AND (history_retention_days IS NULL OR dataclip_retention_days IS NOT NULL"
            " AND dataclip_retention_days <= history_retention_days)",
            name="retention_within_history",
        ),
        sa.CheckConstraint(
            "alert_limit_count > 0 AND alert_limit_minutes > 0", name="alert_limit_positive"
        ),
        sa.CheckConstraint(
            "(run_timeout_s IS NULL OR run_timeout_s > 0)"
            " AND (step_memory_mb IS NULL OR step_memory_mb > 0)"
            " AND (max_payload_kb IS NULL OR max_payload_kb > 0)",
            name="run_limits_positive",
        ),
    )


class ProjectMember(db.Model):
    """A user's membership of a project: the role and the per-member alert settings."""

    __tablename__ = "project_members"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    # Default on for admins and owners, off for others (set where members are added).
    failure_alerts: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    digest: Mapped[DigestFrequency] = mapped_column(
        enum_type(DigestFrequency, "digest"), default=DigestFrequency.NEVER, server_default="never"
    )
    # The hour (0-23, in the member's time zone) their digest is sent.
    digest_hour: Mapped[int] = mapped_column(default=7, server_default="7")
    # Mail when someone changes a workflow of the project.
    workflow_change_notices: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    inserted_at: Mapped[datetime] = created_at()

    project = relationship("Project", back_populates="members", lazy="raise")
    user = relationship("User", back_populates="memberships", lazy="raise")

    __table_args__ = (
        sa.UniqueConstraint("project_id", "user_id"),
        sa.Index(None, "user_id"),
        sa.CheckConstraint("digest_hour >= 0 AND digest_hour < 24", name="digest_hour_range"),
    )
