"""Comparing documents: each difference at its path, the canvas entries touched, line diffs."""

from __future__ import annotations

from app.services.project_code.diff import (
    ADDED,
    CHANGED,
    REMOVED,
    Change,
    changes,
    text_diff,
    touched_entries,
)

BEFORE = {
    "name": "Sync",
    "triggers": {"webhook": {"type": "webhook", "enabled": True}},
    "jobs": {
        "fetch": {"name": "Fetch", "adaptor": "http@1", "body": "get('/a')\n"},
        "old": {"name": "Old", "adaptor": "common@1", "body": "fn(f)\n"},
    },
    "edges": {"webhook->fetch": {"source_trigger": "webhook", "target_job": "fetch"}},
}


def _after() -> dict:
    after = {
        "name": "Sync",
        "triggers": {"webhook": {"type": "webhook", "enabled": False}},
        "jobs": {
            "fetch": {"name": "Fetch", "adaptor": "http@1", "body": "get('/b')\n"},
            "new": {"name": "New", "adaptor": "common@1", "body": "fn(g)\n"},
        },
        "edges": {
            "webhook->fetch": {"source_trigger": "webhook", "target_job": "fetch"},
            "fetch->new": {"source_job": "fetch", "target_job": "new"},
        },
    }
    return after


def test_each_difference_is_named_by_its_path():
    found = changes(BEFORE, _after())
    assert found == [
        Change("triggers.webhook.enabled", CHANGED, True, False),
        Change("jobs.fetch.body", CHANGED, "get('/a')\n", "get('/b')\n"),
        Change("jobs.old", REMOVED, before=BEFORE["jobs"]["old"]),
        Change("jobs.new", ADDED, after=_after()["jobs"]["new"]),
        Change("edges.fetch->new", ADDED, after={"source_job": "fetch", "target_job": "new"}),
    ]
    assert changes(BEFORE, BEFORE) == []


def test_lists_and_type_changes_compare_as_whole_values():
    found = changes({"a": [1, 2], "b": {"x": 1}}, {"a": [2, 1], "b": "text"})
    assert [(c.path, c.kind) for c in found] == [("a", CHANGED), ("b", CHANGED)]


def test_touched_entries_mark_the_canvas():
    marks = touched_entries(changes(BEFORE, _after()))
    assert marks == {
        "triggers": {"webhook": CHANGED},
        "jobs": {"fetch": CHANGED, "old": REMOVED, "new": ADDED},
        "edges": {"fetch->new": ADDED},
    }
    project_before = {"workflows": {"sync": BEFORE}}
    project_after = {"workflows": {"sync": {**_after(), "edges": None}}}
    project_after["workflows"]["sync"].pop("edges")
    marks = touched_entries(changes(project_before, project_after), prefix="workflows.sync.")
    assert marks["edges"] == {"webhook->fetch": REMOVED}


def test_text_diff_shows_changed_lines_only_when_they_differ():
    assert text_diff("a\nb\n", "a\nc\n", "fetch") == ["@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    assert text_diff("same", "same") == []
    assert text_diff(None, "new") == ["@@ -0,0 +1 @@", "+new"]
