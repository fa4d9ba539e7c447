"""Single sign-on: OpenID Connect providers a superuser configured, and who signed in with them."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, updated_at, uuid_pk


class OidcProvider(db.Model):
    """An identity provider people may sign in with; its client secret is encrypted at rest."""

    __tablename__ = "oidc_providers"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # The URL-safe name in the callback and login links: /login/sso/<slug>.
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    discovery_url: Mapped[str] = mapped_column(sa.String(2000))
    client_id: Mapped[str] = mapped_column(sa.String(500))
    client_secret_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Lower-case email domains whose people may get an account on first sign-in.
    allowed_domains: Mapped[list] = mapped_column(default=list)
    # When set, the password form is refused for the allowed domains: SSO only.
    sso_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class UserIdentity(db.Model):
    """A user's account at a provider (its `sub`), linked on their first SSO sign-in."""

    __tablename__ = "user_identities"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    provider_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("oidc_providers.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(sa.String(255))
    inserted_at: Mapped[datetime] = created_at()
    last_login_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("provider_id", "subject"),
        sa.Index(None, "user_id"),
    )
