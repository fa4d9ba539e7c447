"""Describing what differs between two project documents, as the compare and merge pages
show it: project fields and settings, credentials, then each workflow added, removed or
changed with the steps, triggers and edges touched and a line diff of each changed body.

Every difference comes from `project_code.diff`; this module only groups them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.models import User
from app.models.projects import Role
from app.services.project_code import diff
from app.services.project_code.document import export_project
from app.services.sandboxes.cloning import require_role_in, sandbox_and_parent
from app.services.sandboxes.documents import as_parent_would_hold

WORKFLOWS = "workflows."


@dataclass(frozen=True)
class BodyDiff:
    """A job body's line diff."""

    job_key: str
    job_name: str
    lines: list[str]


@dataclass
class WorkflowChanges:
    """One workflow's differences; `changes` have paths inside the workflow."""

    key: str
    name: str
    kind: str  # added | removed | changed
    changes: list[diff.Change] = field(default_factory=list)
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    bodies: list[BodyDiff] = field(default_factory=list)
    note: str = ""

    @property
    def other_changes(self) -> list[diff.Change]:
        """The changes besides job bodies (those are shown as line diffs)."""
        return [c for c in self.changes if not c.path.endswith(".body")]


@dataclass
class Report:
    """Every difference of two project documents, grouped for a page."""

    project: list[diff.Change] = field(default_factory=list)  # description, settings.*
    credentials: list[diff.Change] = field(default_factory=list)
    workflows: list[WorkflowChanges] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the two documents are the same."""
        return not (self.project or self.credentials or self.workflows)


@dataclass(frozen=True)
class Comparison:
    """The sandbox against its parent, for the compare page."""

    sandbox_name: str
    parent_id: uuid.UUID
    parent_name: str
    report: Report


def compare(actor: User, sandbox_id: uuid.UUID) -> Comparison:
    """What the sandbox holds differently from its parent now (viewers of both)."""
    sandbox, parent = sandbox_and_parent(sandbox_id)
    require_role_in(actor, sandbox, Role.VIEWER, "Comparing a sandbox with its parent")
    require_role_in(actor, parent, Role.VIEWER, "Comparing a sandbox with its parent")
    parent_doc = export_project(parent.id)
    sandbox_doc = as_parent_would_hold(export_project(sandbox.id), parent_doc)
    found = diff.changes(parent_doc, sandbox_doc)
    report = describe(found, parent_doc, sandbox_doc)
    base = (sandbox.sandbox_base or {}).get("workflows") or {}
    for workflow in report.workflows:
        if workflow.kind == diff.REMOVED and workflow.key in base:
            workflow.note = "Deleted in the sandbox."
        elif workflow.kind == diff.REMOVED:
            workflow.note = "Added to the parent after the clone; a merge leaves it alone."
    return Comparison(sandbox.name, parent.id, parent.name, report)


def describe(found: list[diff.Change], before: Mapping, after: Mapping) -> Report:
    """Group changes between two project documents (`before`, `after`) for a page."""
    report = Report()
    by_workflow: dict[str, WorkflowChanges] = {}
    for change in found:
        if change.path == "name":
            continue  # a sandbox's name is its own; a merge never renames the parent
        if change.path.startswith("credentials"):
            report.credentials.append(change)
        elif change.path == "workflows":
            for key in (change.after if change.kind == diff.ADDED else change.before) or {}:
                _workflow(by_workflow, key, change.kind, before, after)
        elif change.path.startswith(WORKFLOWS):
            _add_workflow_change(by_workflow, change, before, after)
        else:
            report.project.append(change)
    for workflow in by_workflow.values():
        prefix = f"{WORKFLOWS}{workflow.key}."
        if workflow.kind == diff.CHANGED:
            relative = [
                diff.Change(c.path[len(prefix) :], c.kind, c.before, c.after)
                for c in workflow.changes
            ]
            workflow.changes = relative
            workflow.entries = {
                section: marks for section, marks in diff.touched_entries(relative).items() if marks
            }
        workflow.bodies = _bodies(workflow, before, after)
    report.workflows = sorted(by_workflow.values(), key=lambda w: (w.name.lower(), w.key))
    return report


def _add_workflow_change(
    by_workflow: dict[str, WorkflowChanges], change: diff.Change, before: Mapping, after: Mapping
) -> None:
    key, _, rest = change.path[len(WORKFLOWS) :].partition(".")
    kind = change.kind if not rest else diff.CHANGED
    workflow = _workflow(by_workflow, key, kind, before, after)
    if rest:
        workflow.changes.append(change)


def _workflow(
    by_workflow: dict[str, WorkflowChanges], key: str, kind: str, before: Mapping, after: Mapping
) -> WorkflowChanges:
    if key not in by_workflow:
        entry = _entry(after, key) or _entry(before, key)
        by_workflow[key] = WorkflowChanges(key, str(entry.get("name") or key), kind)
    return by_workflow[key]


def _bodies(workflow: WorkflowChanges, before: Mapping, after: Mapping) -> list[BodyDiff]:
    """The line diff of each job body the change touches (all bodies of a workflow added or
    removed as a whole)."""
    old_jobs = _entry(before, workflow.key).get("jobs") or {}
    new_jobs = _entry(after, workflow.key).get("jobs") or {}
    if workflow.kind == diff.CHANGED:
        keys = list((workflow.entries.get("jobs") or {}).keys())
    else:
        keys = list(new_jobs or old_jobs)
    bodies = []
    for key in keys:
        old, new = old_jobs.get(key) or {}, new_jobs.get(key) or {}
        lines = diff.text_diff(_text(old.get("body")), _text(new.get("body")), key)
        if lines:
            name = str(new.get("name") or old.get("name") or key)
            bodies.append(BodyDiff(key, name, lines))
    return bodies


def _entry(document: Mapping, key: str) -> Mapping:
    entry = (document.get("workflows") or {}).get(key)
    return entry if isinstance(entry, Mapping) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
