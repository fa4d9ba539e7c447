"""A project's collections themselves: create, rename, delete, find by name, the list with
each collection's entry count, size and last change, and noting a change to its entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Project
from app.models.base import utcnow
from app.models.collections import Collection, CollectionItem
from app.services import audit
from app.services.collections import rules
from app.services.errors import Invalid, NotFound

# Counting and sizing a million entries takes seconds; the list counts this many at most
# and says "more than" beyond, as the history's count does.
COUNT_CAP = 10_000
# The item type of collections' entries in the project's audit log.
AUDIT_ITEM = "collection"
TOUCH_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class CollectionSummary:
    """One row of the collections list: `entries` and `size_bytes` are exact unless
    `more` (then both are lower bounds); `updated_at` is the last change to the collection
    or its entries, to the minute."""

    collection: Collection
    entries: int
    size_bytes: int
    more: bool

    @property
    def updated_at(self) -> datetime:
        """When the collection or one of its entries last changed."""
        return self.collection.updated_at


def list_collections(project_id: uuid.UUID) -> list[CollectionSummary]:
    """The project's collections by name, with their entries and size (capped)."""
    collections = db.session.scalars(
        sa.select(Collection).where(Collection.project_id == project_id).order_by(Collection.name)
    ).all()
    return [_summary(collection) for collection in collections]


def summary(project_id: uuid.UUID, name: str) -> CollectionSummary:
    """One collection's row of the list."""
    return _summary(get_collection(project_id, name))


def _summary(collection: Collection) -> CollectionSummary:
    sample = (
        sa.select(CollectionItem.value)
        .where(CollectionItem.collection_id == collection.id)
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    count, size = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.func.length(sample.c.value)), 0))
    ).one()
    if count > COUNT_CAP:
        return CollectionSummary(collection, COUNT_CAP, int(size), True)
    return CollectionSummary(collection, int(count), int(size), False)


def touch(collection_id: uuid.UUID) -> None:
    """Note a change to the collection's entries in its `updated_at`, at most once a minute
    (a busy collection would otherwise turn every write into a write to the same row)."""
    now = utcnow()
    db.session.execute(
        sa.update(Collection)
        .where(Collection.id == collection_id, Collection.updated_at < now - TOUCH_PRECISION)
        .values(updated_at=now)
    )


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


def create_collection(
    project_id: uuid.UUID, name: object, actor_id: uuid.UUID | None = None
) -> Collection:
    """A new, empty collection; Invalid for a bad or taken name. The project's audit log
    says who created it (`actor_id` None: a step's token or the system)."""
    clean = rules.clean_name(name)
    if db.session.get(Project, project_id) is None:
        raise NotFound("There is no such project.")
    _refuse_taken(project_id, clean)
    collection = Collection(id=uuid.uuid4(), project_id=project_id, name=clean)
    db.session.add(collection)
    audit.record(
        AUDIT_ITEM,
        collection.id,
        "collection_created",
        actor_id,
        {"name": clean},
        project_id=project_id,
    )
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


def delete_collection(
    project_id: uuid.UUID,
    name: str,
    confirm: object = None,
    actor_id: uuid.UUID | None = None,
) -> int:
    """Delete a collection and every entry in it; returns how many entries went. When
    `confirm` is given (the page asks people to type the name), it must be the name. The
    project's audit log keeps who deleted it and how many entries went."""
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
    audit.record(
        AUDIT_ITEM,
        collection.id,
        "collection_deleted",
        actor_id,
        {"name": collection.name, "entries": int(entries or 0)},
        project_id=project_id,
    )
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
