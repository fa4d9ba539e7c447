"""Credentials (user-owned, encrypted secrets), their shares into projects, OAuth clients,
ownership transfers, and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, updated_at, uuid_pk


class Credential(db.Model):
    """A secret body owned by one user; `schema` is an adaptor name, "raw" or "oauth"."""

    __tablename__ = "credentials"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(sa.String(200))
    schema: Mapped[str] = mapped_column(sa.String(100))
    # The whole JSON body, encrypted with the instance key ring; never stored in clear.
    body_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    production: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Set for OAuth credentials: the client whose token endpoint refreshes the body's token.
    oauth_client_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("oauth_clients.id", ondelete="RESTRICT")
    )
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


class OAuthClient(db.Model):
    """An OAuth 2 client an instance admin registered with a provider; users authorise
    credentials through it and runs refresh their tokens with it."""

    __tablename__ = "oauth_clients"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    authorization_endpoint: Mapped[str] = mapped_column(sa.String(2000))
    token_endpoint: Mapped[str] = mapped_column(sa.String(2000))
    revocation_endpoint: Mapped[str | None] = mapped_column(sa.String(2000))
    client_id: Mapped[str] = mapped_column(sa.String(500))
    client_secret_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    scopes: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    # "client_secret_basic" (HTTP Basic) or "client_secret_post" (in the form body).
    token_auth_method: Mapped[str] = mapped_column(
        sa.String(32), default="client_secret_basic", server_default="client_secret_basic"
    )
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CredentialTransfer(db.Model):
    """A pending or finished hand-over of a credential; the emailed link carries a one-time
    token of which only the SHA-256 digest is stored."""

    __tablename__ = "credential_transfers"

    id: Mapped[uuid.UUID] = uuid_pk()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("credentials.id", ondelete="CASCADE")
    )
    from_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.Index(None, "credential_id"),)


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
    # The project the entry belongs to, for the project's audit page. No foreign key on
    # purpose: entries outlive the project they describe (its deletion is audited too).
    project_id: Mapped[uuid.UUID | None]
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (
        sa.Index(None, "item_type", "item_id", "inserted_at"),
        sa.Index(None, "project_id", "inserted_at"),
        sa.Index(None, "inserted_at"),
    )


class AuditTrailIsAppendOnly(Exception):
    """Raised when code tries to change or remove an audit entry through the ORM."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_changes(mapper, connection, target) -> None:
    # An audit trail that the app can rewrite proves nothing: refuse at the ORM layer too.
    raise AuditTrailIsAppendOnly("Audit entries cannot be changed or deleted.")
