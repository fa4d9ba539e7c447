"""Workflow snapshots: the frozen definition of each saved version, which runs execute."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import Workflow, WorkflowSnapshot
from app.services.errors import NotFound
from app.services.triggers import webhook_signature_settings


def latest_snapshot(workflow_id: uuid.UUID) -> WorkflowSnapshot:
    """The snapshot of the workflow's current version."""
    snapshot = db.session.scalar(
        select(WorkflowSnapshot)
        .where(WorkflowSnapshot.workflow_id == workflow_id)
        .order_by(WorkflowSnapshot.lock_version.desc())
        .limit(1)
    )
    if snapshot is None:
        raise NotFound("The workflow has no saved version.")
    return snapshot


def take_snapshot(
    workflow: Workflow,
    actor_id: uuid.UUID | None,
    *,
    message: str | None = None,
    restored_from_version: int | None = None,
) -> WorkflowSnapshot:
    """Record the workflow's current version (call after its rows are flushed), with the
    author's words for it and, for a restore, the version it copied."""
    db.session.refresh(workflow, ["triggers", "steps", "edges"])
    snapshot = WorkflowSnapshot(
        workflow_id=workflow.id,
        lock_version=workflow.lock_version,
        definition=snapshot_definition(workflow),
        created_by_id=actor_id,
        message=message or None,
        restored_from_version=restored_from_version,
    )
    db.session.add(snapshot)
    db.session.flush()
    return snapshot


def snapshot_definition(workflow: Workflow) -> dict:
    """Everything a run needs to execute this version of the workflow, with ids."""
    return {
        "name": workflow.name,
        "concurrency": workflow.concurrency,
        **({"retry_policy": workflow.retry_policy} if workflow.retry_policy else {}),
        "triggers": [
            {
                "id": str(t.id),
                "key": t.key,
                "type": t.type.value,
                "enabled": t.enabled,
                "webhook_reply": t.webhook_reply.value,
                "cron_expression": t.cron_expression,
                "cron_input": t.cron_input.value,
                "cron_input_step_id": str(t.cron_input_step_id) if t.cron_input_step_id else None,
                # Not needed to run, but a restore of this version must give them back.
                "cron_timezone": t.cron_timezone,
                "custom_path": t.custom_path,
                # Only when set: versions saved before signatures existed compare equal.
                **webhook_signature_settings.export(t),
                **(
                    {"webhook_requests_per_minute": t.webhook_requests_per_minute}
                    if t.webhook_requests_per_minute
                    else {}
                ),
            }
            for t in workflow.triggers
        ],
        "steps": [
            {
                "id": str(s.id),
                "key": s.key,
                "name": s.name,
                "adaptor": s.adaptor,
                "credential_id": str(s.credential_id) if s.credential_id else None,
                "body": s.body,
                # Only when set: versions saved before retries existed compare equal.
                **({"retry_policy": s.retry_policy} if s.retry_policy else {}),
            }
            for s in workflow.steps
        ],
        "edges": [
            {
                "id": str(e.id),
                "source_trigger_id": str(e.source_trigger_id) if e.source_trigger_id else None,
                "source_step_id": str(e.source_step_id) if e.source_step_id else None,
                "target_step_id": str(e.target_step_id),
                "condition_type": e.condition_type.value,
                "condition_expression": e.condition_expression,
                "condition_label": e.condition_label,
                "enabled": e.enabled,
            }
            for e in workflow.edges
        ],
    }
