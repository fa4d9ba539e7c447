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
    # MFA is on once a code has confirmed the secret; until then the secret is only proposed.
    totp_confirmed_at: Mapped[datetime | None]
    # The TOTP time step of the last accepted code: a code of that step or older is refused,
    # so a code seen over someone's shoulder cannot be used again.
    totp_last_counter: Mapped[int | None] = mapped_column(sa.BigInteger)
    password_changed_at: Mapped[datetime | None]
    # An IANA zone name (Africa/Nairobi): times in mails and digest hours are the user's.
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    # How clock times are written for this user: "24h" (14:05, the default) or "12h" (2:05 PM).
    time_format: Mapped[str] = mapped_column(sa.String(8), default="24h", server_default="24h")
    last_login_at: Mapped[datetime | None]
    # Set when a superuser deletes the account: it is disabled at once, and after the grace
    # period (`deletion_due_at`) a background job removes it; cancellable until then.
    deletion_requested_at: Mapped[datetime | None]
    deletion_due_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    memberships = relationship("ProjectMember", back_populates="user", lazy="raise")

    __table_args__ = (sa.CheckConstraint("time_format IN ('24h', '12h')", name="time_format"),)

    def get_id(self) -> str:
        """The session identity: user id plus nonce, so a nonce change ends old sessions."""
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at login
        return not self.disabled

    @property
    def mfa_enabled(self) -> bool:
        """True when the user signs in with a TOTP code after the password."""
        return self.totp_confirmed_at is not None

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


class MfaBackupCode(db.Model):
    """One of a user's single-use MFA backup codes; only a digest of the code is stored."""

    __tablename__ = "mfa_backup_codes"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    code_digest: Mapped[str] = mapped_column(sa.String(255))
    used_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.Index(None, "user_id"),)


class Invitation(db.Model):
    """An emailed, single-use link that makes an account (and a membership, when a project
    invited). Only the digest of the link's token is stored; it expires after 7 days."""

    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(sa.String(320))
    # None for an invitation from the users page that joins no project.
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE")
    )
    role: Mapped[str | None] = mapped_column(sa.String(32))
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    accepted_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.Index(None, "email"), sa.Index(None, "project_id"))


class PasswordReset(db.Model):
    """An emailed, single-use password reset link (1 day); only its token's digest is kept."""

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None]
    inserted_at: Mapped[datetime] = created_at()

    __table_args__ = (sa.Index(None, "user_id"),)
