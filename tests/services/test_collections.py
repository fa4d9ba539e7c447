"""Collections through the service: names, keys, patterns, paging, limits, exact values."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.services.collections import items, rules, store
from app.services.errors import Invalid, NotFound


@pytest.fixture
def bag(project):
    """An empty collection "patients" in the project."""
    store.create_collection(project.id, "patients")
    return project.id


def test_a_value_comes_back_exactly_as_it_was_set(bag):
    value = {"name": "Amélie \u00e9\u4e2d", "n": 1, "f": 1.5, "big": 2**70, "none": None,
             "flag": False, "list": [1, "2", {"x": []}], "nul": "a\x00b"}  # fmt: skip
    items.set_item(bag, "patients", "p-1", value)
    item = items.get_item(bag, "patients", "p-1")
    assert item.value == value
    assert list(item.value) == list(value)  # key order kept
    assert isinstance(item.value["f"], float) and isinstance(item.value["n"], int)


def test_setting_a_key_again_replaces_its_value(bag):
    items.set_item(bag, "patients", "p-1", {"v": 1})
    items.set_item(bag, "patients", "p-1", [2])
    assert items.get_item(bag, "patients", "p-1").value == [2]
    assert items.get_item(bag, "patients", "missing") is None


def test_a_batch_is_written_in_one_go_and_a_repeated_key_keeps_its_last_value(bag):
    batch = [{"key": f"k{i:03}", "value": i} for i in range(1000)] + [{"key": "k001", "value": "x"}]
    with pytest.raises(Invalid, match="at most 1000 items"):
        items.set_items(bag, "patients", batch)
    assert items.set_items(bag, "patients", batch[1:]) == 999
    assert items.get_item(bag, "patients", "k001").value == "x"
    assert items.get_item(bag, "patients", "k999").value == 999


def test_a_bad_item_in_a_batch_stores_nothing_and_names_the_item(bag):
    batch = [{"key": "a", "value": 1}, {"key": "b\x00", "value": 2}]
    with pytest.raises(Invalid, match="NUL") as caught:
        items.set_items(bag, "patients", batch)
    assert caught.value.field == "items[1].key"
    assert items.get_item(bag, "patients", "a") is None
    with pytest.raises(Invalid, match=r'Item 0 must be \{"key"'):
        items.set_items(bag, "patients", [{"key": "a"}])


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "cannot be empty"),
        ("x" * 256, "at most 255 characters; this one has 256"),
        ("a\x00b", "NUL"),
        ("a*b", "cannot hold '\\*'"),
        (12, "must be text, not a number"),
    ],
)
def test_bad_keys_are_refused_with_a_sentence(bag, key, says):
    with pytest.raises(Invalid, match=says):
        items.set_item(bag, "patients", key, 1)


def test_a_255_character_key_is_fine(bag):
    items.set_item(bag, "patients", "k" * 255, "ok")
    assert items.get_item(bag, "patients", "k" * 255).value == "ok"


def test_a_value_above_the_limit_is_refused_saying_its_size(bag):
    huge = "x" * (1024 * 1024)
    with pytest.raises(
        rules.TooLarge,
        match=r"The value is 1,048,578 bytes as JSON, above the 1,048,576 bytes \(1 MB\)",
    ):
        items.set_item(bag, "patients", "big", huge)
    assert items.get_item(bag, "patients", "big") is None
    items.set_item(bag, "patients", "big", "x" * (1024 * 1024 - 2))  # exactly 1 MB with quotes


def test_values_json_cannot_hold_are_refused(bag):
    with pytest.raises(Invalid, match="cannot be stored as JSON"):
        items.set_item(bag, "patients", "nan", float("nan"))
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(Invalid, match="nested too deeply"):
        items.set_item(bag, "patients", "deep", deep)


def test_patterns_match_by_prefix_and_wildcards(bag):
    keys = ["a", "p-1", "p-2", "p-10", "p_x", "p%y", "q-1", "pat-1-done", "pat-2-open"]
    items.set_items(bag, "patients", [{"key": k, "value": k} for k in keys])

    def listed(pattern):
        return [i.key for i in items.list_items(bag, "patients", pattern, limit=1000).items]

    assert listed("p-*") == ["p-1", "p-10", "p-2"]
    assert listed("pat-*-open") == ["pat-2-open"]
    assert listed("*-1") == ["p-1", "q-1"]
    assert listed("p_*") == ["p_x"]  # `_` is literal, not LIKE's any-character
    assert listed("p%*") == ["p%y"]
    assert listed("*") == sorted(keys)
    assert listed("p-1") == ["p-1"]


def test_paging_walks_every_key_once_in_order(bag):
    keys = [f"item-{i:04}" for i in range(250)]
    items.set_items(bag, "patients", [{"key": k, "value": 1} for k in keys])
    seen, cursor = [], None
    while True:
        page = items.list_items(bag, "patients", "item-*", cursor=cursor, limit=100)
        seen += [i.key for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == keys


@pytest.mark.parametrize("cursor", ["garbage!", "W10", "WyJrMSIsIDFd", "eyJrIjogMX0"])
def test_a_crafted_cursor_is_refused_with_a_sentence(bag, cursor):
    with pytest.raises(rules.Unreadable, match="not one Ferry gave out"):
        items.list_items(bag, "patients", "*", cursor=cursor)


def test_a_cursor_holding_a_nul_key_is_refused(bag):
    forged = rules.encode_cursor("a\x00")
    with pytest.raises(rules.Unreadable):
        items.list_items(bag, "patients", "*", cursor=forged)


@pytest.mark.parametrize("limit", [0, 1001, -3])
def test_page_sizes_stay_between_1_and_1000(bag, limit):
    with pytest.raises(Invalid, match="between 1 and 1000"):
        items.list_items(bag, "patients", "*", limit=limit)


def test_remove_takes_a_key_or_a_pattern(bag):
    items.set_items(bag, "patients", [{"key": k, "value": 1} for k in ["a-1", "a-2", "b-1"]])
    assert items.remove(bag, "patients", "a-1") == 1
    assert items.remove(bag, "patients", "a-*") == 1
    assert [i.key for i in items.list_items(bag, "patients").items] == ["b-1"]


def test_prefix_end_is_the_first_string_after_the_prefix():
    assert rules.prefix_end("ab") == "ac"
    assert rules.prefix_end("a\U0010ffff") == "b"
    assert rules.prefix_end("\ud7ff"[0]) == "\ue000"
    assert rules.prefix_end("") is None


def test_collections_are_named_once_per_project(project):
    store.create_collection(project.id, "seen")
    with pytest.raises(Invalid, match="already has a collection named seen"):
        store.create_collection(project.id, "seen")
    with pytest.raises(Invalid, match="only letters, digits"):
        store.create_collection(project.id, "has space")
    with pytest.raises(NotFound, match="no collection named 'other'"):
        items.get_item(project.id, "other", "k")


def test_the_list_counts_entries_and_their_size(bag, project):
    store.create_collection(project.id, "empty")
    items.set_items(bag, "patients", [{"key": "a", "value": "xy"}, {"key": "b", "value": 1}])
    summaries = {s.collection.name: s for s in store.list_collections(project.id)}
    assert (summaries["patients"].entries, summaries["patients"].size_bytes) == (2, 5)
    assert summaries["empty"].entries == 0


def test_deleting_a_collection_needs_its_name_typed_and_removes_its_entries(bag):
    items.set_item(bag, "patients", "a", 1)
    with pytest.raises(Invalid, match="Type the collection's name, patients"):
        store.delete_collection(bag, "patients", confirm="patient")
    assert store.delete_collection(bag, "patients", confirm="patients") == 1
    assert store.list_collections(bag) == []


def test_creating_and_deleting_a_collection_leave_entries_in_the_projects_audit_log(project, user):
    created = store.create_collection(project.id, "visits", actor_id=user.id)
    items.set_item(project.id, "visits", "v-1", {"n": 1})
    store.delete_collection(project.id, "visits", actor_id=user.id)
    entries = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.project_id == project.id, AuditEvent.item_type == "collection")
        .order_by(AuditEvent.inserted_at)
    ).all()
    assert [(e.event, e.item_id, e.actor_id, e.changes) for e in entries] == [
        ("collection_created", created.id, user.id, {"name": "visits"}),
        ("collection_deleted", created.id, user.id, {"name": "visits", "entries": 1}),
    ]


def test_renaming_keeps_the_entries(bag):
    items.set_item(bag, "patients", "a", 1)
    store.rename_collection(bag, "patients", "people")
    assert items.get_item(bag, "people", "a").value == 1


def test_the_value_limit_and_the_api_url_come_from_the_environment():
    from app.config import Settings

    settings = Settings.from_env(
        {"FERRY_COLLECTIONS_MAX_VALUE_KB": "64", "FERRY_API_URL": "http://ferry-web:8000/"}
    )
    assert (settings.collections_max_value_kb, settings.api_url) == (64, "http://ferry-web:8000")
    assert Settings.from_env({}).api_url == ""


def test_a_big_collection_is_counted_up_to_the_cap(bag, project, monkeypatch):
    monkeypatch.setattr(store, "COUNT_CAP", 3)
    items.set_items(bag, "patients", [{"key": f"k{i}", "value": 1} for i in range(5)])
    (summary,) = store.list_collections(project.id)
    assert (summary.entries, summary.more) == (3, True)
    assert 3 <= summary.size_bytes < 5


def test_writes_and_removals_mark_the_collection_updated(bag, project):
    from datetime import timedelta

    from app.extensions import db

    collection = store.get_collection(project.id, "patients")
    long_ago = collection.updated_at - timedelta(days=3)
    for change in (
        lambda: items.set_item(bag, "patients", "a", 1),
        lambda: items.set_items(bag, "patients", [{"key": "b", "value": 2}]),
        lambda: items.remove(bag, "patients", "*"),
    ):
        collection.updated_at = long_ago
        db.session.commit()
        change()
        db.session.refresh(collection)
        assert collection.updated_at > long_ago + timedelta(days=2)


def test_a_page_of_big_values_stops_after_the_entry_crossing_the_byte_cap(bag, monkeypatch):
    monkeypatch.setattr(items, "PAGE_BYTES", 2500)
    items.set_items(bag, "patients", [{"key": f"k{i}", "value": "x" * 998} for i in range(5)])
    seen, cursor, pages = [], None, 0
    while True:
        page = items.list_items(bag, "patients", "k*", cursor=cursor, limit=1000)
        seen += [i.key for i in page.items]
        pages, cursor = pages + 1, page.next_cursor
        if cursor is None:
            break
    assert seen == [f"k{i}" for i in range(5)]
    assert pages == 2  # 3 values of 1,000 bytes cross 2,500; the other 2 come next
