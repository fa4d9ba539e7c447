"""How API responses present Ferry's rows (one place, so every endpoint agrees)."""

from __future__ import annotations

from flask import current_app, url_for

from app.models import LogLine, Project, Run, StepRun, Workflow, WorkOrder
from app.services.workflows import export


def project(p: Project) -> dict:
    """A project."""
    return {
        "id": str(p.id),
        "name": p.name,
        "description": p.description,
        "inserted_at": p.inserted_at.isoformat(),
    }


def workflow(w: Workflow) -> dict:
    """A workflow with trigger ids and webhook URLs, and its document."""
    base = current_app.config["FERRY_SETTINGS"].base_url
    triggers = []
    for t in sorted(w.triggers, key=lambda t: t.key):
        entry = {"id": str(t.id), "key": t.key, "type": t.type.value, "enabled": t.enabled}
        if t.type.value == "webhook":
            reference = t.custom_path or str(t.id)
            entry["webhook_url"] = base + url_for("webhooks.receive", reference=reference)
            if t.webhook_signature_algorithm:  # the secret itself is never shown
                entry["signature_secret_set"] = t.webhook_signature_secret_encrypted is not None
        triggers.append(entry)
    return {
        "id": str(w.id),
        "project_id": str(w.project_id),
        "name": w.name,
        "lock_version": w.lock_version,
        "triggers": triggers,
        "steps": [{"id": str(s.id), "key": s.key, "name": s.name} for s in w.steps],
        "document": export.export_document(w),
    }


def step_run(s: StepRun) -> dict:
    """A step run."""
    return {
        "id": str(s.id),
        "step_id": str(s.step_id),
        "step_name": s.step_name,
        "exit_reason": s.exit_reason.value if s.exit_reason else None,
        "error": ({"type": s.error_type, "message": s.error_message} if s.error_type else None),
        "input_dataclip_id": _str(s.input_dataclip_id),
        "output_dataclip_id": _str(s.output_dataclip_id),
        "attempt": s.attempt,
        "retry_at": _time(s.retry_at),
        "started_at": _time(s.started_at),
        "finished_at": _time(s.finished_at),
    }


def run(r: Run, steps: list[StepRun] | None = None) -> dict:
    """A run, with its steps when given."""
    body = {
        "id": str(r.id),
        "work_order_id": str(r.work_order_id),
        "workflow_id": str(r.workflow_id),
        "snapshot_id": str(r.snapshot_id),
        "state": r.state.value,
        "priority": r.priority,
        "starting_step_id": _str(r.starting_step_id),
        "input_dataclip_id": _str(r.dataclip_id),
        "final_dataclip_id": _str(r.final_dataclip_id),
        "error": ({"type": r.error_type, "message": r.error_message} if r.error_type else None),
        "inserted_at": _time(r.inserted_at),
        "claimed_at": _time(r.claimed_at),
        "started_at": _time(r.started_at),
        "finished_at": _time(r.finished_at),
        # Set while the run waits for an automatic retry: when its next attempt is due.
        "available_at": _time(r.available_at),
    }
    if steps is not None:
        body["steps"] = [step_run(s) for s in steps]
    return body


def work_order(w: WorkOrder, runs: list[dict]) -> dict:
    """A work order with its runs."""
    return {
        "id": str(w.id),
        "workflow_id": str(w.workflow_id),
        "state": w.state.value,
        "trigger_id": _str(w.trigger_id),
        "input_dataclip_id": _str(w.dataclip_id),
        "inserted_at": _time(w.inserted_at),
        "last_activity_at": _time(w.last_activity_at),
        "runs": runs,
    }


def log_line(line: LogLine) -> dict:
    """A log line."""
    return {
        "timestamp": _time(line.timestamp),
        "level": line.level.value,
        "source": line.source.value,
        "message": line.message,
        "step_run_id": _str(line.step_run_id),
    }


def _str(value) -> str | None:
    return str(value) if value is not None else None


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None
