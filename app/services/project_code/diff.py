"""Comparing two documents (a workflow's, or a whole project's): what was added, removed or
changed, each at its document path, and a line diff for text such as job bodies.

Pure functions over plain dicts, so the version history, the save conflict, `ferry deploy`,
sandbox merges and git sync all describe a change the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
# The sections of a workflow document whose entries are drawn on the canvas.
GRAPH_SECTIONS = ("triggers", "jobs", "edges")


@dataclass(frozen=True)
class Change:
    """One difference: `path` is dotted (`jobs.fetch.body`), `kind` added/removed/changed."""

    path: str
    kind: str
    before: object = None
    after: object = None


def changes(before: Mapping, after: Mapping, prefix: str = "") -> list[Change]:
    """Every difference between two mappings, depth first, in the order keys appear.

    A key only one side has is one change at its path (its contents are not listed one by
    one); mappings on both sides are compared key by key; anything else (text, numbers,
    lists) is compared as a whole value.
    """
    found: list[Change] = []
    for key in _keys(before, after):
        path = f"{prefix}{key}"
        if key not in after:
            found.append(Change(path, REMOVED, before=before[key]))
        elif key not in before:
            found.append(Change(path, ADDED, after=after[key]))
        elif isinstance(before[key], Mapping) and isinstance(after[key], Mapping):
            found.extend(changes(before[key], after[key], f"{path}."))
        elif before[key] != after[key]:
            found.append(Change(path, CHANGED, before=before[key], after=after[key]))
    return found


def touched_entries(found: list[Change], prefix: str = "") -> dict[str, dict[str, str]]:
    """Which triggers, jobs and edges of a workflow a list of changes touches, and how:
    {"jobs": {"fetch": "changed"}, "edges": {"a->b": "added"}} (for marking the canvas).
    `prefix` is the workflow's own path inside a project document (`workflows.sync.`)."""
    marks: dict[str, dict[str, str]] = {section: {} for section in GRAPH_SECTIONS}
    for change in found:
        if not change.path.startswith(prefix):
            continue
        parts = change.path[len(prefix) :].split(".", 2)
        if parts[0] not in marks:
            continue
        if len(parts) == 1:  # the whole section appeared or went
            side = change.after if change.kind == ADDED else change.before
            for key in side or {}:
                marks[parts[0]][key] = change.kind
        elif len(parts) == 2:
            marks[parts[0]][parts[1]] = change.kind
        else:
            marks[parts[0]].setdefault(parts[1], CHANGED)
    return marks


def text_diff(before: str | None, after: str | None, name: str = "") -> list[str]:
    """A unified line diff (without the --- and +++ header lines); empty when equal."""
    lines = list(
        difflib.unified_diff(
            (before or "").splitlines(),
            (after or "").splitlines(),
            fromfile=f"{name} before",
            tofile=f"{name} after",
            lineterm="",
        )
    )
    return lines[2:]


def _keys(before: Mapping, after: Mapping) -> list:
    seen = dict.fromkeys(before)
    seen.update(dict.fromkeys(after))
    return list(seen)
