"""A workflow's version history in the Studio: the saved versions newest first, one version
as a workflow document, two versions compared (what the canvas marks and the line diffs the
change list shows), and restoring an old version as a new one (history is never rewritten).

Every save already takes a snapshot (`workflows.snapshots`), so a version is a snapshot and
"the current version" is the newest one; comparisons go through `project_code.diff` so they
describe a change the same way as sandboxes, `ferry deploy` and git sync.

Long because listing, reading, comparing and restoring versions all stand on the same two
things (finding a version of a workflow this project owns, and turning its snapshot into a
document); kept together they read as one small area.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import Credential, User, Workflow, WorkflowSnapshot
from app.services.errors import Invalid, NotFound
from app.services.project_code import diff
from app.services.triggers import webhook_signature_settings
from app.services.workflows import export, store
from app.services.workflows.retries import change_words, write_policy

PAGE_SIZE = 30
MAX_MESSAGE = 500
# Version numbers live in an integer column: anything larger cannot name a version.
MAX_VERSION = 2**31 - 1
SECTION_WORDS = {"triggers": "Trigger", "jobs": "Step", "edges": "Edge"}
# Settings always shown as a line diff, however short (a one-line body is still code).
TEXT_FIELDS = {"body", "condition_expression"}
NODE_KINDS = {"triggers": "trigger", "jobs": "job", "edges": "edge"}


@dataclass(frozen=True)
class VersionRow:
    """One saved version as the History panel lists it."""

    version: int
    author: str
    saved_at: datetime
    message: str | None
    restored_from: int | None
    current: bool


@dataclass(frozen=True)
class VersionPage:
    """Up to PAGE_SIZE versions, newest first; `next_before` continues the list (keyset)."""

    rows: list[VersionRow]
    current: int
    total: int
    next_before: int | None


@dataclass(frozen=True)
class ChangeItem:
    """One line of a comparison's change list: what changed, in words, and how."""

    path: str
    kind: str
    title: str
    lines: list[str] = field(default_factory=list)  # a line diff of text (bodies, expressions)
    before: object = None  # a short setting's old and new values
    after: object = None


@dataclass(frozen=True)
class Comparison:
    """Version `before` compared with version `after` of one workflow."""

    before: int
    after: int
    items: list[ChangeItem]
    marks: dict[str, str]  # canvas element id ("job:fetch") -> added/changed/removed
    document: dict  # `after`'s document plus what `before` had and `after` removed


def check_message(value: object) -> str | None:
    """The author's words for a save, trimmed; None when empty; Invalid when not storable."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("message", "The version message must be text.")
    if "\x00" in value:
        raise Invalid("message", "The version message holds a NUL character: remove it.")
    value = value.strip()
    if len(value) > MAX_MESSAGE:
        raise Invalid("message", f"Keep the version message under {MAX_MESSAGE} characters.")
    return value or None


def version_number(value: object, field_name: str = "version") -> int:
    """A version number from a URL or form (Invalid unless a whole number in range)."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_VERSION:
        raise Invalid(field_name, "A version is a whole number, 1 or more.")
    return int(text)


def list_versions(
    workflow_id: uuid.UUID, project_id: uuid.UUID, before: int | None = None
) -> VersionPage:
    """The workflow's versions newest first, PAGE_SIZE at a time, from below `before`."""
    workflow = store.get_workflow(workflow_id, project_id)
    query = (
        select(WorkflowSnapshot, User)
        .outerjoin(User, User.id == WorkflowSnapshot.created_by_id)
        .where(WorkflowSnapshot.workflow_id == workflow.id)
        .order_by(WorkflowSnapshot.lock_version.desc())
        .limit(PAGE_SIZE + 1)
    )
    if before is not None:
        query = query.where(WorkflowSnapshot.lock_version < before)
    found = db.session.execute(query).all()
    total = db.session.scalar(
        select(func.count()).where(WorkflowSnapshot.workflow_id == workflow.id)
    )
    rows = [
        VersionRow(
            version=snapshot.lock_version,
            author=_author(user),
            saved_at=snapshot.inserted_at,
            message=snapshot.message,
            restored_from=snapshot.restored_from_version,
            current=snapshot.lock_version == workflow.lock_version,
        )
        for snapshot, user in found[:PAGE_SIZE]
    ]
    more = len(found) > PAGE_SIZE
    return VersionPage(rows, workflow.lock_version, total or 0, rows[-1].version if more else None)


def get_version(workflow_id: uuid.UUID, project_id: uuid.UUID, version: int) -> WorkflowSnapshot:
    """One saved version of a workflow of this project (NotFound otherwise)."""
    workflow = store.get_workflow(workflow_id, project_id)
    snapshot = None
    if 1 <= version <= MAX_VERSION:
        snapshot = db.session.scalar(
            select(WorkflowSnapshot).where(
                WorkflowSnapshot.workflow_id == workflow.id,
                WorkflowSnapshot.lock_version == version,
            )
        )
    if snapshot is None:
        raise NotFound(f"This workflow has no version {version}.")
    return snapshot


def describe_version(workflow_id: uuid.UUID, project_id: uuid.UUID, version: int) -> VersionRow:
    """One saved version as the History panel lists it (NotFound if there is no such)."""
    workflow = store.get_workflow(workflow_id, project_id)
    snapshot = get_version(workflow_id, project_id, version)
    author = db.session.get(User, snapshot.created_by_id) if snapshot.created_by_id else None
    return VersionRow(
        version=snapshot.lock_version,
        author=_author(author),
        saved_at=snapshot.inserted_at,
        message=snapshot.message,
        restored_from=snapshot.restored_from_version,
        current=snapshot.lock_version == workflow.lock_version,
    )


def to_document(definition: dict, workflow: Workflow | None = None) -> dict:
    """A snapshot's definition as a workflow document (the format `export` writes).

    Snapshots taken before version history did not keep a cron trigger's time zone, a
    webhook's custom path or an edge's label; for those the current workflow's values (same
    trigger or edge key) stand in, so such a version neither shows nor restores a change
    nobody made.
    """
    current = export.export_document(workflow) if workflow is not None else {}
    steps = {s["id"]: s for s in definition.get("steps", [])}
    triggers = {t["id"]: t for t in definition.get("triggers", [])}
    names = _credential_names({s.get("credential_id") for s in steps.values()})
    document: dict = {"name": definition.get("name")}
    if definition.get("concurrency") is not None:
        document["concurrency"] = definition["concurrency"]
    if definition.get("retry_policy"):
        document["retry_policy"] = write_policy(definition["retry_policy"])
    document["triggers"] = {
        t["key"]: _trigger_entry(t, steps, current.get("triggers", {}).get(t["key"], {}))
        for t in triggers.values()
    }
    document["jobs"] = {
        s["key"]: {
            "name": s.get("name"),
            "adaptor": s.get("adaptor"),
            "credential": names.get(s.get("credential_id")),
            "body": s.get("body"),
            **({"retry_policy": write_policy(s["retry_policy"])} if s.get("retry_policy") else {}),
        }
        for s in steps.values()
    }
    document["edges"] = {}
    for edge in definition.get("edges", []):
        from_trigger = edge.get("source_trigger_id")
        source = (
            triggers[from_trigger]["key"] if from_trigger else steps[edge["source_step_id"]]["key"]
        )
        target = steps[edge["target_step_id"]]["key"]
        key = f"{source}->{target}"
        entry: dict = {"source_trigger": source} if from_trigger else {"source_job": source}
        entry.update(target_job=target, condition_type=edge.get("condition_type"))
        if edge.get("condition_expression"):
            entry["condition_expression"] = edge["condition_expression"]
        label = edge.get(
            "condition_label", current.get("edges", {}).get(key, {}).get("condition_label")
        )
        if label:
            entry["condition_label"] = label
        entry["enabled"] = edge.get("enabled", True)
        document["edges"][key] = entry
    return document


def version_document(workflow_id: uuid.UUID, project_id: uuid.UUID, version: int) -> dict:
    """One version of the workflow as a workflow document."""
    workflow = store.get_workflow(workflow_id, project_id)
    return to_document(get_version(workflow_id, project_id, version).definition, workflow)


def compare(workflow_id: uuid.UUID, project_id: uuid.UUID, before: int, after: int) -> Comparison:
    """What changed from version `before` to version `after` (either may be the older)."""
    workflow = store.get_workflow(workflow_id, project_id)
    old = to_document(get_version(workflow_id, project_id, before).definition, workflow)
    new = to_document(get_version(workflow_id, project_id, after).definition, workflow)
    found = diff.changes(old, new)
    marks: dict[str, str] = {}
    merged = {**new, **{s: dict(new.get(s, {})) for s in diff.GRAPH_SECTIONS}}
    for section, entries in diff.touched_entries(found).items():
        for key, kind in entries.items():
            marks[f"{NODE_KINDS[section]}:{key}"] = kind
            if kind == diff.REMOVED:  # drawn greyed, so the canvas shows what went
                merged[section][key] = old[section][key]
    items = [_item(change, old, new) for change in found]
    return Comparison(before, after, items, marks, merged)


def restore(
    workflow_id: uuid.UUID,
    project_id: uuid.UUID,
    version: int,
    expected_version: int,
    actor_id: uuid.UUID | None,
) -> Workflow:
    """Save version `version` again as a new version (Conflict if someone saved since the
    restorer looked, i.e. the workflow is no longer at `expected_version`)."""
    workflow = store.get_workflow(workflow_id, project_id)
    snapshot = get_version(workflow_id, project_id, version)
    if version == workflow.lock_version:
        raise Invalid("version", f"Version {version} is already the current version.")
    return store.replace_workflow(
        workflow.id,
        to_document(snapshot.definition, workflow),
        project_id=project_id,
        expected_version=expected_version,
        actor_id=actor_id,
        message=f"Restored version {version}",
        restored_from_version=version,
    )


def _trigger_entry(trigger: dict, steps: dict, current: dict) -> dict:
    entry: dict = {"type": trigger.get("type"), "enabled": trigger.get("enabled", True)}
    if trigger.get("type") == "webhook":
        entry["webhook_reply"] = trigger.get("webhook_reply")
        path = trigger.get("custom_path", current.get("custom_path"))
        if path:
            entry["custom_path"] = path
        if trigger.get("webhook_requests_per_minute"):
            entry["webhook_requests_per_minute"] = trigger["webhook_requests_per_minute"]
        # A version keeps its signature rule (never the secret); older versions had none.
        entry.update(
            {k: trigger[k] for k in webhook_signature_settings.KEYS if trigger.get(k) is not None}
        )
        return entry
    entry.update(
        cron_expression=trigger.get("cron_expression"),
        cron_timezone=trigger.get("cron_timezone", current.get("cron_timezone", "UTC")),
        cron_input=trigger.get("cron_input"),
    )
    if trigger.get("cron_input_step_id") in steps:
        entry["cron_input_job"] = steps[trigger["cron_input_step_id"]]["key"]
    return entry


def _item(change: diff.Change, old: dict, new: dict) -> ChangeItem:
    """A change in words, with a line diff for text and old/new values for settings."""
    parts = change.path.split(".", 2)
    section = parts[0]
    if section in SECTION_WORDS and len(parts) >= 2:
        doc = new if change.kind != diff.REMOVED else old
        entry = doc[section].get(parts[1], {})
        name = entry.get("name") if section == "jobs" else None
        what = f"{SECTION_WORDS[section]} “{name or parts[1]}”"
        if len(parts) == 2:
            body = entry.get("body") if section == "jobs" else None
            lines = []
            if body:
                lines = diff.text_diff(
                    None if change.kind == diff.ADDED else body,
                    body if change.kind == diff.ADDED else None,
                )
            return ChangeItem(change.path, change.kind, f"{what} {change.kind}", lines)
        title = f"{what}: {change_words(parts[2])} {change.kind}"
    else:
        title = f"Workflow {change_words(change.path, default=True)} {change.kind}"
    if "retry_policy" in change.path.split("."):
        before, after = _policy_value(change.before), _policy_value(change.after)
        return ChangeItem(change.path, change.kind, title, before=before, after=after)
    if parts[-1] in TEXT_FIELDS or _is_text(change.before) or _is_text(change.after):
        return ChangeItem(
            change.path,
            change.kind,
            title,
            diff.text_diff(_text(change.before), _text(change.after)),
        )
    return ChangeItem(change.path, change.kind, title, before=change.before, after=change.after)


def _policy_value(value: object) -> object:
    """A retry setting as the change list shows it (lists as words, not brackets)."""
    return ", ".join(map(str, value)) if isinstance(value, list) else value


def _is_text(value: object) -> bool:
    """Text worth a line diff: bodies and expressions, anything on several lines or long."""
    return isinstance(value, str) and ("\n" in value or len(value) > 60)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


def _author(user: User | None) -> str:
    """Who saved a version; "Ferry" when nobody did (or the account is gone)."""
    if user is None:
        return "Ferry"
    return user.display_name


def _credential_names(ids: set) -> dict:
    wanted = set()
    for value in ids:
        try:
            wanted.add(uuid.UUID(value))
        except (TypeError, ValueError):
            continue
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Credential.id, Credential.name).where(Credential.id.in_(wanted))
    )
    return {str(credential_id): name for credential_id, name in rows}
