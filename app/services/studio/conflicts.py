"""A refused save, explained: who saved the workflow since the editor opened it, when, and
what they changed between the editor's version and the current one (the canvas entries
touched, and a line diff of each changed body), so nothing is overwritten or lost unseen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import User, Workflow, WorkflowSnapshot
from app.services.errors import NotFound
from app.services.project_code import diff
from app.services.studio import versions
from app.services.workflows import store

# Words for a change's section, as the page names them.
_SECTION_WORDS = {"triggers": "Trigger", "jobs": "Step", "edges": "Edge"}
# Values longer than this are cut in the list of changes (bodies get a line diff instead).
_SHORT = 120


@dataclass(frozen=True)
class ChangeLine:
    """One change in words: what (`Step “Fetch”`), which field, how, and for a body its
    line diff."""

    what: str
    field: str
    kind: str
    before: str = ""
    after: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SaveConflict:
    """Why a save from `your_version` was refused and what happened since."""

    workflow_id: uuid.UUID
    your_version: int
    current_version: int
    saved_by: str | None
    saved_at: datetime | None
    message: str | None
    authors: list[str]
    changes: list[ChangeLine]
    touched: dict[str, dict[str, str]]

    def as_json(self) -> dict:
        """The API's and the builder's 409 details: the versions and who saved last."""
        return {
            "your_version": self.your_version,
            "current_version": self.current_version,
            "saved_by": self.saved_by,
            "saved_at": self.saved_at.isoformat() if self.saved_at else None,
        }


def summary(workflow_id: uuid.UUID, your_version: int | None) -> dict:
    """The 409 details of a refused save (empty when nothing can be said)."""
    if your_version is None:
        return {}
    try:
        return describe(workflow_id, your_version, with_changes=False).as_json()
    except NotFound:
        return {}


def describe(workflow_id: uuid.UUID, your_version: int, with_changes: bool = True) -> SaveConflict:
    """What changed since `your_version`. NotFound when the workflow has no such version or
    it is newer than the current one."""
    current = db.session.scalar(
        select(Workflow.lock_version).where(
            Workflow.id == workflow_id, Workflow.deleted_at.is_(None)
        )
    )
    if current is None:
        raise NotFound("There is no such workflow in this project.")
    if not 1 <= your_version <= current:  # also keeps a huge number out of the INTEGER query
        raise NotFound(f"This workflow has no version {your_version}.")
    snapshots = list(
        db.session.scalars(
            select(WorkflowSnapshot)
            .where(
                WorkflowSnapshot.workflow_id == workflow_id,
                WorkflowSnapshot.lock_version >= your_version,
                WorkflowSnapshot.lock_version <= current,
            )
            .order_by(WorkflowSnapshot.lock_version)
        )
    )
    if not snapshots or snapshots[0].lock_version != your_version:
        raise NotFound(f"This workflow has no version {your_version}.")
    base, latest = snapshots[0], snapshots[-1]
    names = _names({s.created_by_id for s in snapshots[1:]})
    authors = list(dict.fromkeys(names[s.created_by_id] for s in snapshots[1:] if s.created_by_id))
    lines: list[ChangeLine] = []
    touched: dict[str, dict[str, str]] = {section: {} for section in diff.GRAPH_SECTIONS}
    if with_changes and latest is not base:
        workflow = store.get_workflow(workflow_id)
        before = versions.to_document(base.definition, workflow)
        after = versions.to_document(latest.definition, workflow)
        found = diff.changes(before, after)
        touched = diff.touched_entries(found)
        lines = [_line(change, before, after) for change in found]
    return SaveConflict(
        workflow_id=workflow_id,
        your_version=your_version,
        current_version=latest.lock_version,
        saved_by=names.get(latest.created_by_id) if latest is not base else None,
        saved_at=latest.inserted_at if latest is not base else None,
        message=latest.message if latest is not base else None,
        authors=authors,
        changes=lines,
        touched=touched,
    )


def _line(change: diff.Change, before: dict, after: dict) -> ChangeLine:
    parts = change.path.split(".", 2)
    label = _SECTION_WORDS.get(parts[0])
    if label is None or len(parts) < 2:  # the workflow's own name or concurrency
        return ChangeLine(
            "Workflow", parts[0], change.kind, _short(change.before), _short(change.after)
        )
    section, key = parts[0], parts[1]
    entry = after.get(section, {}).get(key) or before.get(section, {}).get(key) or {}
    shown = entry.get("name") if isinstance(entry, dict) and entry.get("name") else key
    what, field_name = f"{label} “{shown}”", parts[2] if len(parts) > 2 else ""
    if field_name == "body":
        lines = diff.text_diff(_text(change.before), _text(change.after), key)
        return ChangeLine(what, field_name, change.kind, lines=lines)
    # A step added or removed whole: its other fields in a line, its body as lines.
    whole = change.after if change.kind == diff.ADDED else change.before
    lines = []
    if not field_name and section == "jobs" and isinstance(whole, dict):
        old, new = ("", whole.get("body")) if change.kind == diff.ADDED else (whole.get("body"), "")
        lines = diff.text_diff(_text(old), _text(new), key)
    return ChangeLine(
        what, field_name, change.kind, _short(change.before), _short(change.after), lines
    )


def _names(ids: set) -> dict:
    ids.discard(None)
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {row.id: row.name or row.email for row in rows}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _short(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items() if k != "body" and v is not None)
    else:
        text = str(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"
