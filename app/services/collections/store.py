"""A project's collections themselves: create, rename, delete, find by name, and the list
with each collection's entry count, size and last change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Project
from app.models.collections import Collection, CollectionItem
from app.services.collections import rules
from app.services.errors import Invalid, NotFound


@dataclass(frozen=True)
class CollectionSummary:
    """One row of the collections list."""

    collection: Collection
    entries: int
    size_bytes: int
    updated_at: datetime


def list_collections(project_id: uuid.UUID) -> list[CollectionSummary]:
    """The project's collections by name, each with its entries, their size and the time of
    the last change (of the collection or any entry)."""
    stats = (
        sa.select(
            CollectionItem.collection_id,
            sa.func.count().label("entries"),
            sa.func.coalesce(sa.func.sum(sa.func.length(CollectionItem.value)), 0).label("size"),
            sa.func.max(CollectionItem.updated_at).label("changed"),
        )
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.project_id == project_id)
        .group_by(CollectionItem.collection_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Collection, stats.c.entries, stats.c.size, stats.c.changed)
        .outerjoin(stats, stats.c.collection_id == Collection.id)
        .where(Collection.project_id == project_id)
        .order_by(Collection.name)
    ).all()
    return [
        CollectionSummary(
            collection,
            int(entries or 0),
            int(size or 0),
            max(collection.updated_at, changed) if changed else collection.updated_at,
        )
        for collection, entries, size, changed in rows
    ]


def get_collection(project_id: uuid.UUID, name: str) -> Collection:
    """The project's collection called `name`; NotFound saying how to create it."""
    found = db.session.scalar(
        sa.select(Collection).where(Collection.project_id == project_id, Collection.name == name)
    )
    if found is None:
        shown = name if len(name) <= rules.NAME_MAX else name[: rules.NAME_MAX] + "..."
        raise NotFound(
            f"This project has no collection named {shown!r}: create it on the project's "
            "Collections page first."
        )
    return found


def create_collection(project_id: uuid.UUID, name: object) -> Collection:
    """A new, empty collection; Invalid for a bad or taken name."""
    clean = rules.clean_name(name)
    if db.session.get(Project, project_id) is None:
        raise NotFound("There is no such project.")
    _refuse_taken(project_id, clean)
    collection = Collection(project_id=project_id, name=clean)
    db.session.add(collection)
    try:
        db.session.commit()
    except IntegrityError:  # created by someone else between the check and the insert
        db.session.rollback()
        raise Invalid("name", _taken(clean)) from None
    return collection


def rename_collection(project_id: uuid.UUID, name: str, new_name: object) -> Collection:
    """Give a collection another name (jobs using the old name stop finding it)."""
    collection = get_collection(project_id, name)
    clean = rules.clean_name(new_name)
    if clean != collection.name:
        _refuse_taken(project_id, clean)
        collection.name = clean
        db.session.commit()
    return collection


def delete_collection(project_id: uuid.UUID, name: str, confirm: object = None) -> int:
    """Delete a collection and every entry in it; returns how many entries went. When
    `confirm` is given (the page asks people to type the name), it must be the name."""
    collection = get_collection(project_id, name)
    if confirm is not None and confirm != collection.name:
        raise Invalid("confirm", f"Type the collection's name, {collection.name}, to delete it.")
    entries = db.session.scalar(
        sa.select(sa.func.count()).where(CollectionItem.collection_id == collection.id)
    )
    # One statement for the entries (the ORM would load them all to cascade).
    db.session.execute(
        sa.delete(CollectionItem).where(CollectionItem.collection_id == collection.id)
    )
    db.session.delete(collection)
    db.session.commit()
    return int(entries or 0)


def _refuse_taken(project_id: uuid.UUID, name: str) -> None:
    taken = db.session.scalar(
        sa.select(Collection.id).where(Collection.project_id == project_id, Collection.name == name)
    )
    if taken is not None:
        raise Invalid("name", _taken(name))


def _taken(name: str) -> str:
    return f"This project already has a collection named {name}: choose another name."
