"""The entries of a collection: get one key, list a key pattern a page at a time (keyset by
key), set one or a batch (one INSERT ... ON CONFLICT), and remove a key or a pattern.

Every query names the collection and a key range first, so the primary key's index
(collection_id, key) serves it at millions of entries: `prefix <= key < prefix-end`, then
LIKE for the rest of the pattern, `key > cursor`, ORDER BY key, LIMIT.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models.base import utcnow
from app.models.collections import Collection, CollectionItem
from app.services.collections import rules
from app.services.collections.store import get_collection, touch
from app.services.errors import Invalid

PAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Item:
    """One entry: its key, the JSON text of its value, and when it last changed."""

    key: str
    text: str
    updated_at: datetime

    @property
    def value(self) -> Any:
        """The value itself."""
        return rules.decode_value(self.text)


@dataclass(frozen=True)
class ItemPage:
    """One page of entries in key order, and the cursor of the next page (None at the end)."""

    items: list[Item]
    next_cursor: str | None


def max_value_bytes() -> int:
    """The largest value, in bytes of JSON, a collection entry may hold (a setting)."""
    return current_app.config["FERRY_SETTINGS"].collections_max_value_kb * 1024


def get_item(project_id: uuid.UUID, name: str, key: object) -> Item | None:
    """The entry under `key`, or None."""
    clean = rules.check_key(key)
    row = db.session.execute(
        sa.select(CollectionItem.key, CollectionItem.value, CollectionItem.updated_at).where(
            CollectionItem.collection_id == _collection_id(project_id, name),
            CollectionItem.key == clean,
        )
    ).first()
    if row is None:
        get_collection(project_id, name)  # NotFound when the collection itself is missing
        return None
    return Item(*row)


def list_items(
    project_id: uuid.UUID,
    name: str,
    pattern: object = rules.WILDCARD,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> ItemPage:
    """The entries whose keys match `pattern`, in key order, `limit` at a time."""
    matching = rules.read_pattern(pattern)
    size = rules.page_size(limit)
    after = rules.decode_cursor(cursor) if cursor else None
    own = _bytes(CollectionItem.value)
    inner = sa.select(
        CollectionItem.key,
        CollectionItem.value,
        CollectionItem.updated_at,
        own.label("own"),
        sa.func.sum(own).over(order_by=CollectionItem.key).label("running"),
    ).where(CollectionItem.collection_id == _collection_id(project_id, name), *_matches(matching))
    if after is not None:
        inner = inner.where(CollectionItem.key > after)
    page = inner.order_by(CollectionItem.key).limit(size + 1).subquery()
    # Up to 1,000 values of up to 1 MB each would be a gigabyte in memory: a page stops
    # after the entry that crosses PAGE_BYTES (always holding at least one entry).
    rows = db.session.execute(
        sa.select(page.c.key, page.c.value, page.c.updated_at, page.c.running)
        .where(page.c.running - page.c.own < PAGE_BYTES)
        .order_by(page.c.key)
    ).all()
    if not rows:
        get_collection(project_id, name)  # NotFound when the collection itself is missing
    items = [Item(key, text, updated_at) for key, text, updated_at, _ in rows[:size]]
    more = len(rows) > size or (bool(rows) and rows[-1].running >= PAGE_BYTES)
    return ItemPage(items, rules.encode_cursor(items[-1].key) if more else None)


def set_item(project_id: uuid.UUID, name: str, key: object, value: Any) -> None:
    """Store `value` under `key`, replacing what was there."""
    collection = get_collection(project_id, name)
    row = {"key": rules.check_key(key), "value": rules.encode_value(value, max_value_bytes())}
    _upsert(collection.id, [row])
    touch(collection.id)
    db.session.commit()


def set_items(project_id: uuid.UUID, name: str, items: object) -> int:
    """Store a batch of {"key", "value"} items in one statement (a key given twice keeps
    its last value); returns how many keys were written. Nothing is stored when any item is
    refused: the error names the item (counted from 0)."""
    collection = get_collection(project_id, name)
    limit = max_value_bytes()
    rows: dict[str, dict] = {}
    for index, item in enumerate(rules.check_batch(items)):
        field = f"items[{index}]"
        if not isinstance(item, dict) or set(item) != {"key", "value"}:
            raise Invalid(field, f'Item {index} must be {{"key": ..., "value": ...}}.')
        key = rules.check_key(item["key"], f"{field}.key")
        rows[key] = {"key": key, "value": rules.encode_value(item["value"], limit, field)}
    if rows:
        _upsert(collection.id, list(rows.values()))
        touch(collection.id)
        db.session.commit()
    return len(rows)


def remove(project_id: uuid.UUID, name: str, key_or_pattern: object) -> int:
    """Remove the entry under a key, or every entry matching a pattern; returns how many."""
    collection = get_collection(project_id, name)
    matching = rules.read_pattern(key_or_pattern)
    result = db.session.execute(
        sa.delete(CollectionItem).where(
            CollectionItem.collection_id == collection.id, *_matches(matching)
        )
    )
    if result.rowcount:
        touch(collection.id)
    db.session.commit()
    return int(result.rowcount or 0)


def _bytes(column):
    """The size of a stored value: octet_length on PostgreSQL (read from the TOAST header,
    without decompressing), characters on SQLite (the demo; its octet_length is newer)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.octet_length(column)
    return sa.func.length(column)


def _collection_id(project_id: uuid.UUID, name: str):
    """The collection's id as a subquery: reads cost one round trip, not two."""
    return (
        sa.select(Collection.id)
        .where(Collection.project_id == project_id, Collection.name == name)
        .scalar_subquery()
    )


def _matches(pattern: rules.Pattern) -> list:
    """The WHERE conditions for a pattern: the key itself, or its prefix range plus LIKE."""
    key = CollectionItem.key
    if pattern.exact is not None:
        return [key == pattern.exact]
    conditions = []
    if pattern.prefix:
        conditions.append(key >= pattern.prefix)
        if pattern.upper is not None:
            conditions.append(key < pattern.upper)
    if pattern.like is not None:
        # SQLite's LIKE ignores ASCII case (the demo only); PostgreSQL's "C" keys do not.
        conditions.append(key.like(pattern.like, escape="\\"))
    return conditions


def _upsert(collection_id: uuid.UUID, rows: list[dict]) -> None:
    """One INSERT ... ON CONFLICT (collection_id, key) DO UPDATE for every row."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    statement = dialect.insert(CollectionItem).values(
        [{**row, "collection_id": collection_id, "inserted_at": now, "updated_at": now}
         for row in rows]
    )  # fmt: skip
    statement = statement.on_conflict_do_update(
        index_elements=[CollectionItem.collection_id, CollectionItem.key],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )
    db.session.execute(statement)
