"""Writing to and reading from the engine stack's database in the test process."""

from __future__ import annotations

import itertools
import uuid

import httpx
from sqlalchemy import select

from app.extensions import db
from app.models import LogLine, Run, StepRun, WorkOrder
from app.services import accounts, projects
from app.services.workflows import store
from tests.engine.conftest import wait_until

_numbers = itertools.count(1)
FINAL = {"success", "failed", "crashed", "killed", "cancelled", "exception", "lost"}


def new_workflow(stack, document: str):
    """A fresh user, project and saved workflow; returns the workflow's export and ids."""
    with stack.app.app_context():
        n = next(_numbers)
        user = accounts.create_user(
            f"engine{n}-{uuid.uuid4().hex[:6]}@example.org", "correct horse battery staple"
        )
        project = projects.create_project(user, f"Engine project {n}")
        workflow = store.create_workflow(project.id, document)
        triggers = {t.key: str(t.id) for t in workflow.triggers}
        steps = {s.key: str(s.id) for s in workflow.steps}
        result = {"id": workflow.id, "project_id": project.id, "triggers": triggers, "steps": steps}
        db.session.remove()
    return result


def post_webhook(stack, trigger_id: str, body: object, **kwargs) -> httpx.Response:
    """POST to the webhook URL like a source system would."""
    return httpx.post(f"{stack.base_url}/i/{trigger_id}", json=body, timeout=30, **kwargs)


def wait_for_work_order(stack, work_order_id: str, seconds: float = 30.0) -> dict:
    """Wait until the work order is in a final state; returns its runs, steps and logs."""

    def finished():
        with stack.app.app_context():
            work_order = db.session.get(WorkOrder, uuid.UUID(work_order_id))
            state = work_order.state.value if work_order else None
            db.session.remove()
            return state in FINAL

    wait_until(finished, f"work order {work_order_id} to finish", seconds)
    return read_work_order(stack, work_order_id)


def read_work_order(stack, work_order_id: str) -> dict:
    """The work order with its runs, step runs (by step key) and log lines."""
    with stack.app.app_context():
        work_order = db.session.get(WorkOrder, uuid.UUID(work_order_id))
        runs = db.session.scalars(
            select(Run).where(Run.work_order_id == work_order.id).order_by(Run.inserted_at)
        ).all()
        run_ids = [r.id for r in runs]
        step_runs = db.session.scalars(
            select(StepRun).where(StepRun.run_id.in_(run_ids)).order_by(StepRun.started_at)
        ).all()
        logs = db.session.scalars(
            select(LogLine).where(LogLine.run_id.in_(run_ids)).order_by(LogLine.timestamp)
        ).all()
        result = {
            "state": work_order.state.value,
            "runs": [
                {
                    "id": r.id,
                    "state": r.state.value,
                    "error_type": r.error_type,
                    "error_message": r.error_message,
                    "final_dataclip_id": r.final_dataclip_id,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                }
                for r in runs
            ],
            "steps": [
                {
                    "name": s.step_name,
                    "step_id": str(s.step_id),
                    "exit_reason": s.exit_reason.value if s.exit_reason else None,
                    "input": _body(s.input_dataclip_id),
                    "output": _body(s.output_dataclip_id),
                    "error_message": s.error_message,
                }
                for s in step_runs
            ],
            "logs": [(line.source.value, line.level.value, line.message) for line in logs],
        }
        db.session.remove()
    return result


def _body(dataclip_id):
    from app.models import Dataclip

    if dataclip_id is None:
        return None
    clip = db.session.get(Dataclip, dataclip_id)
    return clip.body if clip.body is not None else clip.raw_body


def worker_pid_of(stack, work_order_id: str) -> int:
    """The process id of the worker that claimed the work order's first run."""
    with stack.app.app_context():
        owner = db.session.scalar(
            select(Run.worker_name).where(Run.work_order_id == uuid.UUID(work_order_id))
        )
        db.session.remove()
    return int(owner.rsplit(":", 1)[1])
