"""People and their machine credentials: users and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import created_at, updated_at, uuid_pk


class User(UserMixin, db.Model):
    """A person who signs in. Superusers manage the instance; disabled users cannot sign in."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_superuser: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    disabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Changing it signs the user out everywhere: Flask-Login's id includes it.
    session_nonce: Mapped[str] = mapped_column(sa.String(32))
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    last_login_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    memberships = relationship("ProjectMember", back_populates="user", lazy="raise")

    def get_id(self) -> str:
        """The session identity: user id plus nonce, so a nonce change ends old sessions."""
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at login
        return not self.disabled

    @property
    def display_name(self) -> str:
        """The name to show, falling back to the email address."""
        return self.name or self.email


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters of the token, shown in lists so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    inserted_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user = relationship("User", lazy="joined")

    __table_args__ = (sa.Index(None, "user_id"),)
