"""Pure rules over project documents (as `project_code.document.export_project` writes them)
for sandboxes: what a clone holds, what a merge sends, and what it leaves as the parent had it.

A sandbox never receives the parent's webhooks nor runs its schedules, so its document drops
webhook paths and switches schedules off; the same triggers must come back to the parent
exactly as the parent has them (`keep_parent_triggers`), or a merge would change webhook URLs
and stop production schedules.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping

# What a project document holds besides its workflows that a merge may carry.
PROJECT_FIELDS = ("description",)
# Trigger fields that belong to the running project, not to the workflow's design.
PARENT_TRIGGER_FIELDS = ("enabled", "custom_path")


def clone_document(parent: Mapping, name: str, shared: Iterable[str]) -> dict:
    """The sandbox's first document: the parent's, renamed, with only the credentials in
    `shared` (steps using another have none), webhook paths dropped and schedules off."""
    shared = set(shared)
    document = copy.deepcopy(dict(parent))
    document["name"] = name
    document["credentials"] = {
        key: value for key, value in (parent.get("credentials") or {}).items() if key in shared
    }
    for workflow in (document.get("workflows") or {}).values():
        for trigger in (workflow.get("triggers") or {}).values():
            trigger.pop("custom_path", None)
            if trigger.get("type") == "cron":
                trigger["enabled"] = False
        for job in (workflow.get("jobs") or {}).values():
            if job.get("credential") and job["credential"] not in shared:
                job["credential"] = None
    return document


def keep_parent_triggers(workflow: Mapping, reference: Mapping | None, shared: set) -> dict:
    """A sandbox workflow as the parent would hold it: each trigger the `reference` (the
    parent's workflow of the same key) also has, with the same type, keeps the parent's
    enabled state and webhook path; a step whose credential was not shared into the sandbox
    (`shared`: the sandbox's credential names) keeps the parent's credential."""
    result = copy.deepcopy(dict(workflow))
    if not reference:
        return result
    theirs = reference.get("triggers") or {}
    for key, trigger in (result.get("triggers") or {}).items():
        parent_trigger = theirs.get(key)
        if not parent_trigger or parent_trigger.get("type") != trigger.get("type"):
            continue
        for field in PARENT_TRIGGER_FIELDS:
            if field in parent_trigger:
                trigger[field] = parent_trigger[field]
            else:
                trigger.pop(field, None)
    parent_jobs = reference.get("jobs") or {}
    for key, job in (result.get("jobs") or {}).items():
        parent_job = parent_jobs.get(key) or {}
        kept = parent_job.get("credential")
        if job.get("credential") is None and kept and kept not in shared:
            job["credential"] = kept
    return result


def as_parent_would_hold(sandbox: Mapping, parent: Mapping) -> dict:
    """The whole sandbox document as the parent would hold it after taking all of it: the
    parent's name, each workflow through `keep_parent_triggers` (for comparing the two)."""
    shared = set(sandbox.get("credentials") or {})
    result = copy.deepcopy(dict(sandbox))
    result["name"] = parent.get("name")
    parent_workflows = parent.get("workflows") or {}
    result["workflows"] = {
        key: keep_parent_triggers(workflow, parent_workflows.get(key), shared)
        for key, workflow in (sandbox.get("workflows") or {}).items()
    }
    return result


def sandbox_changes(sandbox: Mapping, base: Mapping) -> tuple[list[str], list[str], list[str]]:
    """What the sandbox changed since the clone (`base`: the parent's document then):
    (workflow keys added or changed, workflow keys removed, project fields and settings
    changed, as `description` / `settings.<name>`)."""
    held = as_parent_would_hold(sandbox, base)
    base_workflows, own = base.get("workflows") or {}, held.get("workflows") or {}
    changed = [key for key, entry in own.items() if base_workflows.get(key) != entry]
    removed = [key for key in base_workflows if key not in own]
    fields = [name for name in PROJECT_FIELDS if held.get(name) != base.get(name)]
    base_settings, settings = base.get("settings") or {}, held.get("settings") or {}
    fields += [
        f"settings.{name}" for name in settings if settings.get(name) != base_settings.get(name)
    ]
    return changed, removed, fields


def refreshed_base(
    old_base: Mapping, parent_now: Mapping, sent: Iterable[str], deleted: Iterable[str], fields
) -> dict:
    """The sandbox's base after a merge: the parent's new document for what the merge made
    equal (workflows `sent`, project `fields`), the old base for everything else (the common
    ancestor of what the merge left alone), and no entry for workflows `deleted` by it."""
    result = copy.deepcopy(dict(parent_now))
    sent, deleted, fields = set(sent), set(deleted), set(fields)
    old_workflows = old_base.get("workflows") or {}
    workflows = {}
    for key in {*old_workflows, *(parent_now.get("workflows") or {})}:
        if key in deleted:
            continue
        if key in sent:
            if key in (parent_now.get("workflows") or {}):
                workflows[key] = copy.deepcopy(parent_now["workflows"][key])
        elif key in old_workflows:
            workflows[key] = copy.deepcopy(old_workflows[key])
    result["workflows"] = dict(sorted(workflows.items()))
    for name in PROJECT_FIELDS:
        if name not in fields and name in old_base:
            result[name] = old_base[name]
    settings = dict(result.get("settings") or {})
    for name, value in (old_base.get("settings") or {}).items():
        if f"settings.{name}" not in fields:
            settings[name] = value
    result["settings"] = settings
    return result


def overlaps(path: str, other: str) -> bool:
    """True when one dotted path is the other or lies inside it."""
    return path == other or path.startswith(f"{other}.") or other.startswith(f"{path}.")


def fingerprint(*documents: Mapping) -> str:
    """A short digest of documents, so a merge applies only what its reviewer saw."""
    text = json.dumps(documents, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
