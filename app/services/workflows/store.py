"""Workflows: create, replace and delete them from documents (each change takes a snapshot)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Credential,
    Edge,
    ProjectCredential,
    Step,
    Trigger,
    Workflow,
)
from app.models.base import utcnow
from app.services.errors import Conflict, Invalid, NotFound
from app.services.git_sync import queueing as git_sync
from app.services.notifications import change_notices
from app.services.triggers import webhook_signature_settings
from app.services.workflows import snapshots
from app.services.workflows.documents import (
    DocumentInvalid,
    Problem,
    WorkflowDocument,
    check_document,
)


def get_workflow(workflow_id: uuid.UUID, project_id: uuid.UUID | None = None) -> Workflow:
    """The workflow with its triggers, steps and edges loaded; NotFound if absent or deleted."""
    query = (
        select(Workflow)
        .where(Workflow.id == workflow_id, Workflow.deleted_at.is_(None))
        .options(
            selectinload(Workflow.triggers),
            selectinload(Workflow.steps),
            selectinload(Workflow.edges),
        )
    )
    if project_id is not None:
        query = query.where(Workflow.project_id == project_id)
    workflow = db.session.scalar(query)
    if workflow is None:
        raise NotFound("There is no such workflow in this project.")
    return workflow


def list_workflows(project_id: uuid.UUID) -> list[Workflow]:
    """The project's workflows by name, with their triggers."""
    return list(
        db.session.scalars(
            select(Workflow)
            .where(Workflow.project_id == project_id, Workflow.deleted_at.is_(None))
            .options(selectinload(Workflow.triggers))
            .order_by(Workflow.name)
        )
    )


def create_workflow(
    project_id: uuid.UUID,
    source: str | bytes | dict,
    actor_id: uuid.UUID | None = None,
    *,
    commit: bool = True,
) -> Workflow:
    """Create a workflow from a document and take its first snapshot. `commit=False` leaves
    the commit (and the change notice after it) to a caller saving many things at once."""
    document, credentials = _checked(project_id, source)
    _name_is_free(project_id, document.name, None)
    workflow = Workflow(
        project_id=project_id,
        name=document.name,
        concurrency=document.concurrency,
        retry_policy=document.retry_policy,
        positions={},
        lock_version=1,
    )
    db.session.add(workflow)
    db.session.flush()
    _apply(workflow, document, credentials, existing_triggers={}, existing_steps={})
    snapshots.take_snapshot(workflow, actor_id)
    if not commit:
        return get_workflow(workflow.id)
    db.session.commit()
    saved = get_workflow(workflow.id)
    change_notices.notify(saved.id, saved.project_id, actor_id, "created", None, 1)
    git_sync.saved(saved.project_id, actor_id, saved.id, 1)
    return saved


def replace_workflow(
    workflow_id: uuid.UUID,
    source: str | bytes | dict,
    *,
    project_id: uuid.UUID | None = None,
    expected_version: int | None = None,
    actor_id: uuid.UUID | None = None,
    message: str | None = None,
    restored_from_version: int | None = None,
    commit: bool = True,
) -> Workflow:
    """Replace a workflow's definition; triggers and steps keep their ids by key.

    `expected_version` is the lock_version the editor started from: when someone saved in
    between, Conflict is raised instead of overwriting their work. `message` (the author's
    words) and `restored_from_version` are kept on the new version's snapshot.
    """
    workflow = get_workflow(workflow_id, project_id)
    if expected_version is not None and expected_version != workflow.lock_version:
        raise Conflict(
            "Someone else saved this workflow since you opened it (your version "
            f"{expected_version}, now {workflow.lock_version}). Reload to see their changes."
        )
    document, credentials = _checked(workflow.project_id, source)
    _name_is_free(workflow.project_id, document.name, workflow.id)
    workflow.name = document.name
    workflow.concurrency = document.concurrency
    workflow.retry_policy = document.retry_policy
    existing_triggers = {t.key: t for t in workflow.triggers}
    existing_steps = {s.key: s for s in workflow.steps}
    for edge in list(workflow.edges):
        workflow.edges.remove(edge)
    db.session.flush()
    _apply(workflow, document, credentials, existing_triggers, existing_steps, actor_id=actor_id)
    workflow.lock_version += 1
    snapshots.take_snapshot(
        workflow, actor_id, message=message, restored_from_version=restored_from_version
    )
    version = workflow.lock_version
    if not commit:  # the caller commits, then sends the change notice
        return get_workflow(workflow.id)
    db.session.commit()
    saved = get_workflow(workflow.id)
    change_notices.notify(saved.id, saved.project_id, actor_id, "changed", version - 1, version)
    git_sync.saved(saved.project_id, actor_id, saved.id, version)
    return saved


def delete_workflow(
    workflow_id: uuid.UUID,
    project_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    *,
    commit: bool = True,
) -> None:
    """Soft-delete: the workflow disappears and its triggers stop; history stays."""
    workflow = get_workflow(workflow_id, project_id)
    version, owner_id = workflow.lock_version, workflow.project_id
    workflow.deleted_at = utcnow()
    workflow.name = f"{workflow.name} (deleted {workflow.id.hex[:8]})"[:200]
    for trigger in workflow.triggers:
        webhook_signature_settings.guard_removal(trigger, project_id=owner_id, actor_id=actor_id)
        trigger.enabled = False
        trigger.custom_path = None
    if not commit:
        db.session.flush()
        return
    db.session.commit()
    change_notices.notify(workflow_id, owner_id, actor_id, "deleted", version, version)
    git_sync.saved(owner_id, actor_id, workflow_id, None)


def _apply(
    workflow: Workflow,
    document: WorkflowDocument,
    credentials: dict[str, uuid.UUID],
    existing_triggers: dict,
    existing_steps: dict,
    *,
    actor_id: uuid.UUID | None = None,
) -> None:
    steps: dict[str, Step] = {}
    for job in document.jobs:
        step = existing_steps.pop(job.key, None) or Step(workflow_id=workflow.id, key=job.key)
        step.name, step.adaptor, step.body = job.name, job.adaptor, job.body
        step.credential_id = credentials.get(job.key)
        step.retry_policy = job.retry_policy
        db.session.add(step)
        steps[job.key] = step
    for leftover in existing_steps.values():
        db.session.delete(leftover)
    triggers: dict[str, Trigger] = {}
    for doc in document.triggers:
        trigger = existing_triggers.pop(doc.key, None)
        if trigger is not None and trigger.type != doc.type:
            # A webhook that becomes a cron (or back) is a new trigger: its URL must not live on.
            webhook_signature_settings.guard_removal(
                trigger, project_id=workflow.project_id, actor_id=actor_id
            )
            db.session.delete(trigger)
            db.session.flush()
            trigger = None
        if trigger is None:
            trigger = Trigger(workflow_id=workflow.id, key=doc.key, type=doc.type)
        trigger.enabled = doc.enabled
        trigger.webhook_reply, trigger.custom_path = doc.webhook_reply, doc.custom_path
        trigger.webhook_requests_per_minute = doc.requests_per_minute
        trigger.cron_expression, trigger.cron_timezone = doc.cron_expression, doc.cron_timezone
        trigger.cron_input = doc.cron_input
        # Only admins may change an existing trigger's signature rule (see the module).
        webhook_signature_settings.apply(
            trigger,
            doc.signature,
            project_id=workflow.project_id,
            actor_id=actor_id,
            path=f"triggers.{doc.key}",
        )
        db.session.add(trigger)
        triggers[doc.key] = trigger
    for leftover in existing_triggers.values():
        webhook_signature_settings.guard_removal(
            leftover, project_id=workflow.project_id, actor_id=actor_id
        )
        db.session.delete(leftover)
    _custom_paths_are_free(document, triggers)
    db.session.flush()
    for doc in document.triggers:
        if doc.cron_input_job:
            triggers[doc.key].cron_input_step_id = steps[doc.cron_input_job].id
    for doc in document.edges:
        db.session.add(
            Edge(
                workflow_id=workflow.id,
                source_trigger_id=triggers[doc.source_trigger].id if doc.source_trigger else None,
                source_step_id=steps[doc.source_job].id if doc.source_job else None,
                target_step_id=steps[doc.target_job].id,
                condition_type=doc.condition_type,
                condition_expression=doc.condition_expression,
                condition_label=doc.condition_label,
                enabled=doc.enabled,
            )
        )
    db.session.flush()
    db.session.expire(workflow, ["triggers", "steps", "edges"])


def _checked(
    project_id: uuid.UUID, source: str | bytes | dict
) -> tuple[WorkflowDocument, dict[str, uuid.UUID]]:
    """The document and its steps' credential ids, or DocumentInvalid listing every error."""
    checked = check_document(source)
    credentials, problems = resolve_credentials(project_id, checked.document)
    errors = checked.errors + problems
    if errors:
        raise DocumentInvalid(errors)
    return checked.document, credentials


def resolve_credentials(
    project_id: uuid.UUID, document: WorkflowDocument
) -> tuple[dict[str, uuid.UUID], list[Problem]]:
    """The credential id of each job that names one, and a problem for each name that is not
    exactly one credential shared into the project (the one check of credential names)."""
    wanted = {job.credential for job in document.jobs if job.credential}
    if not wanted:
        return {}, []
    rows = db.session.execute(
        select(Credential.name, Credential.id)
        .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
        .where(ProjectCredential.project_id == project_id, Credential.name.in_(wanted))
    ).all()
    ids_by_name: dict[str, list[uuid.UUID]] = {}
    for name, credential_id in rows:
        ids_by_name.setdefault(name, []).append(credential_id)
    resolved, problems = {}, []
    for job in document.jobs:
        if not job.credential:
            continue
        ids = ids_by_name.get(job.credential, [])
        path = f"jobs.{job.key}.credential"
        if not ids:
            message = f"No credential named {job.credential!r} is shared into this project."
            problems.append(Problem(path, message))
        elif len(ids) > 1:
            message = (
                f"Several credentials shared into this project are named "
                f"{job.credential!r}: rename one of them."
            )
            problems.append(Problem(path, message))
        else:
            resolved[job.key] = ids[0]
    return resolved, problems


def _name_is_free(project_id: uuid.UUID, name: str, workflow_id: uuid.UUID | None) -> None:
    query = select(Workflow.id).where(Workflow.project_id == project_id, Workflow.name == name)
    if workflow_id is not None:
        query = query.where(Workflow.id != workflow_id)
    if db.session.scalar(query) is not None:
        raise Invalid("name", f"This project already has a workflow named {name!r}.")


def _custom_paths_are_free(document: WorkflowDocument, triggers: dict[str, Trigger]) -> None:
    db.session.flush()  # every trigger has its id now, so each can be told from the others
    for doc in document.triggers:
        if not doc.custom_path:
            continue
        query = select(Trigger.id).where(
            Trigger.custom_path == doc.custom_path, Trigger.id != triggers[doc.key].id
        )
        if db.session.scalar(query) is not None:
            raise Invalid(
                f"triggers.{doc.key}.custom_path",
                f"The webhook path {doc.custom_path!r} is already taken.",
            )
