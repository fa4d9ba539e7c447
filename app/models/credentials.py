"""Credentials (user-owned, encrypted secrets), their shares into projects, and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, updated_at, uuid_pk


class Credential(db.Model):
    """A secret body owned by one user; `schema` is an adaptor name or "raw"."""

    __tablename__ = "credentials"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(sa.String(200))
    schema: Mapped[str] = mapped_column(sa.String(100))
    # The whole JSON body, encrypted with the instance key ring; never stored in clear.
    body_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    production: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (sa.UniqueConstraint("user_id", "name"),)


class ProjectCredential(db.Model):
    """A credential shared into a project, so the project's steps may use it."""

    __tablename__ = "project_credentials"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    credential_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("credentials.id", ondelete="CASCADE")
    )
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (
        sa.UniqueConstraint("project_id", "credential_id"),
        sa.Index(None, "credential_id"),
    )


class AuditEvent(db.Model):
    """An append-only record of who did what to which item; `changes` never holds secrets."""

    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    item_type: Mapped[str] = mapped_column(sa.String(50))
    item_id: Mapped[uuid.UUID]
    event: Mapped[str] = mapped_column(sa.String(50))
    changes: Mapped[dict] = mapped_column(default=dict)
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.Index(None, "item_type", "item_id", "inserted_at"),)
