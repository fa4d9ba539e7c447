"""A project's git remote: where project.yaml and its job files are committed on each save,
and what was last synced (the base a pull compares both sides with)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, updated_at

GIT_AUTH_KINDS = ("none", "ssh_key", "https_token")
GIT_SYNC_STATUSES = ("never", "ok", "pending", "conflict", "failed")


class ProjectGitRemote(db.Model):
    """At most one remote per project."""

    __tablename__ = "project_git_remotes"

    project_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(sa.String(2000))
    branch: Mapped[str] = mapped_column(sa.String(200), default="main", server_default="main")
    auth_kind: Mapped[str] = mapped_column(sa.String(16), default="none", server_default="none")
    # An SSH deploy key or an HTTPS token, encrypted like credential secrets; never shown.
    secret_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # The commit Ferry and the remote last agreed on, and the project document (bodies inline)
    # at that commit: a pull compares Ferry's and the remote's changes against it.
    synced_commit: Mapped[str | None] = mapped_column(sa.String(64))
    synced_document: Mapped[dict | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="never", server_default="never")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_synced_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        sa.CheckConstraint("auth_kind IN ('none', 'ssh_key', 'https_token')", name="auth_kind"),
        sa.CheckConstraint(
            "status IN ('never', 'ok', 'pending', 'conflict', 'failed')", name="status"
        ),
    )
