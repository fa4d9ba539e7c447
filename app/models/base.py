"""Column helpers shared by every model: UUID keys, UTC timestamps, string enums."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware; every timestamp Ferry stores is UTC."""
    return datetime.now(UTC)


def uuid_pk() -> Mapped[uuid.UUID]:
    """A UUID primary key generated in Python, so ids exist before the INSERT."""
    return mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)


def created_at() -> Mapped[datetime]:
    """An insertion timestamp filled by Python and, for raw SQL inserts, by the database."""
    return mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )


def updated_at() -> Mapped[datetime]:
    """A last-change timestamp refreshed by the ORM on every UPDATE."""
    return mapped_column(
        sa.DateTime(timezone=True),
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        server_default=sa.func.now(),
    )


def enum_type(enum_class: type[enum.StrEnum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a CHECK constraint, storing the members' values.

    Native PostgreSQL enums need a migration for every new member; a CHECK does not.
    """
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,  # room for members added later without a column change
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
