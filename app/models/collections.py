"""Collections: a project's named key-value stores of JSON values, kept between runs."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, updated_at, uuid_pk

# Keys compare byte by byte on PostgreSQL (collation "C"), so the primary key's index
# serves `key >= prefix AND key < prefix-end` ranges: one key and a page of a prefix stay
# fast at millions of entries. SQLite (the demo) has no "C" collation and needs none.
ITEM_KEY = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


class Collection(db.Model):
    """A named store inside a project (`collections.get("patients", "p-1")`)."""

    __tablename__ = "collections"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)


class CollectionItem(db.Model):
    """One key of a collection and its JSON value (stored as the JSON text it was given)."""

    __tablename__ = "collection_items"

    collection_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(ITEM_KEY, primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
