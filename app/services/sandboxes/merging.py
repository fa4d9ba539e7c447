"""Merging a sandbox back into its parent: the plan (what the parent would get), the
parent's changes since the clone that the merge would replace, and applying it.

A merge is three-way at the level of workflows and settings: the sandbox's base (the
parent's document at the clone, or at the last merge) tells what the sandbox changed, and
only that is sent, so a parent's fix to a workflow the sandbox never touched survives. What
the sandbox sends replaces the parent's version whole: a parent change at a path the plan
changes is listed as replaced and must be acknowledged. Workflows the sandbox deleted go only
when ticked. Triggers keep the parent's ids, webhook paths and enabled states.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.extensions import db
from app.models import Project, Role, User
from app.services import audit
from app.services.errors import Conflict, Invalid
from app.services.project_code import diff
from app.services.project_code.document import export_project
from app.services.project_code.importing import apply_project, check_project, plan_project
from app.services.sandboxes import documents
from app.services.sandboxes.cloning import (
    ITEM,
    credential_ids,
    require_role_in,
    sandbox_and_parent,
)
from app.services.sandboxes.comparing import Report, describe
from app.services.workflows.shapes import Problem

CONFIRM_FIELD = "understand"


@dataclass(frozen=True)
class Deletable:
    """A workflow the sandbox deleted that the parent still has."""

    key: str
    name: str
    changed_in_parent: bool  # the parent changed it since the clone


@dataclass
class MergePlan:
    """Everything the merge page shows, and the document the merge applies."""

    sandbox: Project
    parent: Project
    document: dict
    report: Report  # what the parent would get
    parent_changes: list[diff.Change]  # the parent's own changes since the clone
    replaced: list[diff.Change]  # those of them the merge would undo
    deletable: list[Deletable]
    problems: list  # Problem(path, message) found in the document; nothing can be merged
    fingerprint: str
    sent: list[str] = field(default_factory=list)  # workflow keys sent (added or changed)
    deleted: list[str] = field(default_factory=list)  # workflow keys deleted in the parent
    fields: list[str] = field(default_factory=list)  # description / settings.<name> sent

    @property
    def parent_changed(self) -> bool:
        """True when the parent changed since the clone (or the last merge)."""
        return bool(self.parent_changes)

    @property
    def needs_confirmation(self) -> bool:
        """True when the merge would replace changes made in the parent."""
        return bool(self.replaced)

    def lines(self, change: diff.Change) -> list[str]:
        """The line diff of a change to a text such as a job body (empty for other values)."""
        if isinstance(change.before, str) and isinstance(change.after, str):
            return diff.text_diff(change.before, change.after)
        return []

    @property
    def nothing_to_merge(self) -> bool:
        """True when the parent would not change at all."""
        return self.report.empty


def plan_merge(actor: User, sandbox_id: uuid.UUID, delete: Iterable[str] = ()) -> MergePlan:
    """What merging the sandbox into its parent would do (admins of both); `delete` names
    the workflows (by key) the sandbox deleted that should go in the parent too."""
    sandbox, parent = sandbox_and_parent(sandbox_id)
    require_role_in(actor, sandbox, Role.ADMIN, "Merging a sandbox")
    require_role_in(actor, parent, Role.ADMIN, "Merging a sandbox into its parent")
    parent_now = export_project(parent.id)
    sandbox_now = export_project(sandbox.id)
    base = sandbox.sandbox_base or {}
    changed, removed, fields = documents.sandbox_changes(sandbox_now, base)
    parent_workflows = parent_now.get("workflows") or {}
    parent_changes = diff.changes(base, parent_now)
    changed_in_parent = {
        c.path.split(".")[1] for c in parent_changes if c.path.startswith("workflows.")
    }
    deletable = [
        Deletable(key, str(parent_workflows[key].get("name") or key), key in changed_in_parent)
        for key in removed
        if key in parent_workflows
    ]
    wanted = [d.key for d in deletable if d.key in set(delete)]
    document = _document(parent, parent_now, sandbox_now, changed, wanted, fields)
    problems = _same_credentials(document, sandbox.id, parent.id) or check_project(
        document, parent.id
    )
    after = _after(parent_now, document)
    # With problems nothing can be applied, not even in a trial: show what was meant instead.
    plan = diff.changes(parent_now, after) if problems else plan_project(document, parent.id)
    replaced = [
        change
        for change in parent_changes
        if any(documents.overlaps(change.path, planned.path) for planned in plan)
    ]
    return MergePlan(
        sandbox=sandbox,
        parent=parent,
        document=document,
        report=describe(plan, parent_now, after),
        parent_changes=parent_changes,
        replaced=replaced,
        deletable=deletable,
        problems=problems,
        fingerprint=documents.fingerprint(parent_now, sandbox_now, base),
        sent=changed,
        deleted=wanted,
        fields=fields,
    )


def merge(
    actor: User,
    sandbox_id: uuid.UUID,
    *,
    fingerprint: str,
    delete: Iterable[str] = (),
    understood: bool = False,
) -> MergePlan:
    """Apply the merge the reviewer saw (`fingerprint` from the plan they read): refused when
    either project changed since, when it would replace parent changes not acknowledged
    (`understood`), or when the document has problems. Then the sandbox's base becomes the
    parent's new document for what was merged, and both projects get an audit entry."""
    plan = plan_merge(actor, sandbox_id, delete)
    if fingerprint != plan.fingerprint:
        raise Conflict(
            "The sandbox or its parent changed while you reviewed the merge. Review the "
            "changes again before merging."
        )
    if plan.problems:
        first = plan.problems[0]
        raise Invalid(first.path, f"The merge cannot be applied: {first.message}")
    if plan.nothing_to_merge:
        raise Invalid("", "There is nothing to merge: the parent already holds these changes.")
    if plan.needs_confirmation and not understood:
        raise Invalid(
            CONFIRM_FIELD,
            "Tick “I understand the parent's changes listed above will be replaced” to merge, "
            "or bring those changes into the sandbox first.",
        )
    sandbox, parent = plan.sandbox, plan.parent
    summary = {
        "sandbox_id": str(sandbox.id),
        "sandbox": sandbox.name,
        "parent_id": str(parent.id),
        "parent": parent.name,
        "workflows": sorted(plan.sent),
        "deleted": sorted(plan.deleted),
        "settings": sorted(plan.fields),
        "replaced": [c.path for c in plan.replaced],
    }
    old_base = copy.deepcopy(sandbox.sandbox_base or {})
    apply_project(plan.document, actor, project_id=parent.id)
    sandbox = db.session.get(Project, sandbox.id)
    sandbox.sandbox_base = documents.refreshed_base(
        old_base, export_project(parent.id), plan.sent, plan.deleted, plan.fields
    )
    audit.record(ITEM, parent.id, "sandbox_merged", actor.id, summary, project_id=parent.id)
    audit.record(ITEM, sandbox.id, "merged_into_parent", actor.id, summary, project_id=sandbox.id)
    db.session.commit()
    return plan


def _document(
    parent: Project,
    parent_now: dict,
    sandbox_now: dict,
    changed: list[str],
    deleted: list[str],
    fields: list[str],
) -> dict:
    """The partial project document a merge applies to the parent: its own name, what the
    sandbox changed (each workflow as the parent would hold it), the credentials those
    workflows use, and a `delete: true` entry for each workflow to delete."""
    shared = set(sandbox_now.get("credentials") or {})
    parent_workflows = parent_now.get("workflows") or {}
    workflows: dict = {}
    for key in changed:
        workflows[key] = documents.keep_parent_triggers(
            sandbox_now["workflows"][key], parent_workflows.get(key), shared
        )
    for key in deleted:
        workflows[key] = {"name": parent_workflows[key]["name"], "delete": True}
    document: dict = {"name": parent.name}
    for name in documents.PROJECT_FIELDS:
        if name in fields:
            document[name] = sandbox_now.get(name)
    settings = {
        name.split(".", 1)[1]: (sandbox_now.get("settings") or {}).get(name.split(".", 1)[1])
        for name in fields
        if name.startswith("settings.")
    }
    if settings:
        document["settings"] = settings
    used = {
        job.get("credential")
        for workflow in workflows.values()
        for job in (workflow.get("jobs") or {}).values()
        if job.get("credential")
    }
    every = {**(parent_now.get("credentials") or {}), **(sandbox_now.get("credentials") or {})}
    document["credentials"] = {name: every[name] for name in sorted(used) if name in every}
    document["workflows"] = workflows
    return document


def _same_credentials(document: dict, sandbox_id: uuid.UUID, parent_id: uuid.UUID) -> list:
    """A problem for each step naming a credential the parent holds a different one of under
    the same name (credentials travel by name: the merge would silently switch secrets)."""
    mine, theirs = credential_ids(sandbox_id), credential_ids(parent_id)
    problems = []
    for key, workflow in document["workflows"].items():
        for job_key, job in (workflow.get("jobs") or {}).items():
            name = job.get("credential")
            # A name the sandbox lacks is the parent's own, kept through the merge.
            if name in mine and name in theirs and mine[name] != theirs[name]:
                problems.append(
                    Problem(
                        f"workflows.{key}.jobs.{job_key}.credential",
                        f"The sandbox's credential “{name}” is not the one the parent has under "
                        "that name; rename one of them, or use the parent's in the sandbox.",
                    )
                )
    return problems


def _after(parent_now: dict, document: dict) -> dict:
    """The parent's document as it would read after the merge (for the body diffs)."""
    after = copy.deepcopy(parent_now)
    for key, entry in document["workflows"].items():
        if entry.get("delete"):
            after["workflows"].pop(key, None)
        else:
            after["workflows"][key] = entry
    return after
