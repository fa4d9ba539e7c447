"""Rows for history tests: work orders, runs, step runs, dataclips and log lines in any state,
written straight through the models (the run engine is tested elsewhere)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import (
    Dataclip,
    DataclipType,
    LogLevel,
    LogLine,
    LogSource,
    Project,
    Run,
    RunState,
    StepExitReason,
    StepRun,
    Workflow,
    WorkOrder,
    WorkOrderState,
)
from app.services import adaptor_catalog
from app.services.workflows import snapshots, store

_numbers = itertools.count(1)

TWO_STEPS = """
name: {name}
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  fetch:
    name: Fetch cases
    adaptor: {adaptor}
    body: |
      fn(lambda state: state)
  load:
    name: Load cases
    adaptor: {adaptor}
    body: |
      fn(lambda state: state)
edges:
  webhook-fetch:
    source_trigger: webhook
    target_job: fetch
    condition_type: always
  fetch-load:
    source_job: fetch
    target_job: load
    condition_type: on_job_success
"""


def adaptor() -> str:
    """common@1 where its spec exists, else http@1 (these rows never run)."""
    return "common@1" if "common" in adaptor_catalog.adaptor_names() else "http@1"


def workflow(project: Project, name: str | None = None) -> Workflow:
    """A saved two-step workflow (fetch -> load) with a webhook trigger."""
    source = TWO_STEPS.format(name=name or f"Flow {next(_numbers)}", adaptor=adaptor())
    return store.get_workflow(store.create_workflow(project.id, source).id)


def at(days_ago: float = 0, minutes_ago: float = 0) -> datetime:
    """A UTC moment in the past."""
    return datetime.now(UTC) - timedelta(days=days_ago, minutes=minutes_ago)


def work_order(
    flow: Workflow,
    *,
    state: str = "success",
    received: datetime | None = None,
    activity: datetime | None = None,
    body: dict | None = None,
    raw_body: str | None = None,
    logs: list[tuple[str, str]] = (),
    steps: int = 2,
    actor_id: uuid.UUID | None = None,
    manual: bool = False,
) -> WorkOrder:
    """A work order in `state` with one run, its input dataclip, step runs and log lines."""
    received = received or at()
    activity = activity or received
    snapshot = snapshots.latest_snapshot(flow.id)
    trigger = flow.triggers[0]
    clip = Dataclip(
        project_id=flow.project_id,
        type=DataclipType.HTTP_REQUEST,
        body=body if body is not None else ({} if raw_body is None else None),
        raw_body=raw_body,
        request={"method": "POST", "path": "/i/x", "query": {}, "headers": {}},
        inserted_at=received,
    )
    db.session.add(clip)
    db.session.flush()
    order = WorkOrder(
        project_id=flow.project_id,
        workflow_id=flow.id,
        trigger_id=None if manual else trigger.id,
        snapshot_id=snapshot.id,
        dataclip_id=clip.id,
        state=WorkOrderState(state),
        inserted_at=received,
        last_activity_at=activity,
    )
    db.session.add(order)
    db.session.flush()
    run_state = {"pending": "available", "running": "started"}.get(state, state)
    add_run(order, run_state, at_=received, logs=logs, steps=steps, actor_id=actor_id)
    db.session.commit()
    return order


def add_run(
    order: WorkOrder,
    state: str,
    *,
    at_: datetime | None = None,
    logs: list[tuple[str, str]] = (),
    steps: int = 2,
    actor_id: uuid.UUID | None = None,
) -> Run:
    """A run of `order` in `state`; finished runs get `steps` step runs and `logs`."""
    started = at_ or at()
    flow = db.session.get(Workflow, order.workflow_id)
    ordered_steps = sorted(store.get_workflow(flow.id).steps, key=lambda s: s.key != "fetch")
    run_state = RunState(state)
    run = Run(
        work_order_id=order.id,
        project_id=order.project_id,
        workflow_id=order.workflow_id,
        snapshot_id=order.snapshot_id,
        starting_trigger_id=order.trigger_id,
        dataclip_id=order.dataclip_id,
        state=run_state,
        created_by_id=actor_id,
        inserted_at=started,
        started_at=None if run_state is RunState.AVAILABLE else started,
        finished_at=started + timedelta(seconds=1.5) if run_state.is_final else None,
    )
    db.session.add(run)
    db.session.flush()
    if run_state is RunState.AVAILABLE:
        return run
    input_id = order.dataclip_id
    for index, step in enumerate(ordered_steps[:steps]):
        last = index == min(steps, len(ordered_steps)) - 1
        output = Dataclip(
            project_id=order.project_id,
            type=DataclipType.STEP_RESULT,
            body={"data": {"step": step.key, "n": index}},
        )
        db.session.add(output)
        db.session.flush()
        exit_reason = None
        if run_state.is_final:
            exit_reason = StepExitReason.SUCCESS
            if last and run_state is not RunState.SUCCESS:
                exit_reason = StepExitReason(run_state.value)
        step_run = StepRun(
            run_id=run.id,
            step_id=step.id,
            step_name=step.name,
            input_dataclip_id=input_id,
            output_dataclip_id=output.id if exit_reason else None,
            exit_reason=exit_reason,
            started_at=started + timedelta(seconds=0.5 * index),
            finished_at=started + timedelta(seconds=0.5 * index + 0.4) if exit_reason else None,
        )
        db.session.add(step_run)
        db.session.flush()
        for number, (level, message) in enumerate(logs if index == 0 else []):
            db.session.add(
                LogLine(
                    run_id=run.id,
                    step_run_id=step_run.id,
                    level=LogLevel(level),
                    source=LogSource.JOB,
                    message=message,
                    timestamp=started + timedelta(milliseconds=number),
                )
            )
        input_id = output.id
    db.session.flush()
    return run
