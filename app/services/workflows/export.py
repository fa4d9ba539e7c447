"""A stored workflow written back out as a document (a dict, or YAML in the documented key
order); `documents.parse_document(export_document(w))` gives the same workflow back."""

from __future__ import annotations

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import Credential, Trigger, Workflow
from app.services.triggers import webhook_signature_settings
from app.services.workflows.retries import write_policy


def export_document(workflow: Workflow) -> dict:
    """The workflow as a document; `parse_document(export_document(w))` gives it back."""
    steps_by_id = {s.id: s for s in workflow.steps}
    triggers_by_id = {t.id: t for t in workflow.triggers}
    credential_names = _credential_names({s.credential_id for s in workflow.steps})
    document: dict = {"name": workflow.name}
    if workflow.concurrency is not None:
        document["concurrency"] = workflow.concurrency
    if workflow.retry_policy:
        document["retry_policy"] = write_policy(workflow.retry_policy)
    document["triggers"] = {t.key: _trigger_dict(t, steps_by_id) for t in workflow.triggers}
    document["jobs"] = {
        s.key: {
            "name": s.name,
            "adaptor": s.adaptor,
            "credential": credential_names.get(s.credential_id),
            "body": s.body,
            **({"retry_policy": write_policy(s.retry_policy)} if s.retry_policy else {}),
        }
        for s in workflow.steps
    }
    document["edges"] = {}
    for edge in workflow.edges:
        source = (
            triggers_by_id[edge.source_trigger_id].key
            if edge.source_trigger_id
            else steps_by_id[edge.source_step_id].key
        )
        target = steps_by_id[edge.target_step_id].key
        entry: dict = (
            {"source_trigger": source} if edge.source_trigger_id else {"source_job": source}
        )
        entry.update(target_job=target, condition_type=edge.condition_type.value)
        if edge.condition_expression:
            entry["condition_expression"] = edge.condition_expression
        if edge.condition_label:
            entry["condition_label"] = edge.condition_label
        entry["enabled"] = edge.enabled
        document["edges"][f"{source}->{target}"] = entry
    return document


def export_yaml(workflow: Workflow) -> str:
    """The workflow document as YAML, keys in the documented order."""
    return yaml.safe_dump(export_document(workflow), sort_keys=False, allow_unicode=True)


def _trigger_dict(trigger: Trigger, steps_by_id: dict) -> dict:
    entry: dict = {"type": trigger.type.value, "enabled": trigger.enabled}
    if trigger.type.value == "webhook":
        entry["webhook_reply"] = trigger.webhook_reply.value
        if trigger.custom_path:
            entry["custom_path"] = trigger.custom_path
        if trigger.webhook_requests_per_minute:
            entry["webhook_requests_per_minute"] = trigger.webhook_requests_per_minute
        entry.update(webhook_signature_settings.export(trigger))  # never the secret
        return entry
    entry.update(
        cron_expression=trigger.cron_expression,
        cron_timezone=trigger.cron_timezone,
        cron_input=trigger.cron_input.value,
    )
    if trigger.cron_input_step_id in steps_by_id:
        entry["cron_input_job"] = steps_by_id[trigger.cron_input_step_id].key
    return entry


def _credential_names(ids: set) -> dict:
    ids.discard(None)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Credential.id, Credential.name).where(Credential.id.in_(ids))
        ).all()
    )
