"""Starting runs by hand, retrying, cancelling and bulk reruns.

Manual runs and retries get priority 0 (the `runs-priority` lane), so workers take them
before webhook and cron runs; bulk reruns are batch work and go to the batch lane (1), so that
rerunning thousands of work orders never keeps a person in the studio waiting.
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    Dataclip,
    DataclipType,
    Run,
    RunState,
    Step,
    StepRun,
    Workflow,
    WorkOrder,
    WorkOrderState,
)
from app.models.base import utcnow
from app.services import zero_persistence
from app.services.errors import Conflict, Invalid, NotFound
from app.services.parsing import check_storable
from app.services.runs import events, queue
from app.services.workflows import snapshots, store
from app.services.zero_persistence import inputs as zp_inputs
from app.services.zero_persistence import settings as zero_persistence_settings

MANUAL_PRIORITY = 0
BATCH_PRIORITY = 1


def start_manual_run(
    workflow_id: uuid.UUID,
    *,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    custom_input: dict | None = None,
    dataclip_id: uuid.UUID | None = None,
    step_id: uuid.UUID | None = None,
) -> Run:
    """Start the workflow (or one step of it) with an empty input, custom JSON (kept as a
    saved_input dataclip) or an existing dataclip of the project."""
    workflow = store.get_workflow(workflow_id, project_id)
    snapshot = snapshots.latest_snapshot(workflow.id)
    if custom_input is not None and dataclip_id is not None:
        raise Invalid("input", "Give either custom input or a dataclip, not both.")
    keeps_none = zero_persistence_settings.is_on(project_id)
    if custom_input is not None:
        if not isinstance(custom_input, dict):
            raise Invalid("input", 'Custom input must be a JSON object, e.g. {"data": {}}.')
        if keeps_none:
            dataclip_id = zp_inputs.unstored_input(project_id, custom_input)
        else:
            # Callers may hand over a value they parsed themselves: jsonb must keep it.
            check_storable(custom_input, field="input", what="The input")
            clip = Dataclip(project_id=project_id, type=DataclipType.SAVED_INPUT, body=custom_input)
            db.session.add(clip)
            db.session.flush()
            dataclip_id = clip.id
    elif dataclip_id is not None:
        if keeps_none:
            raise Invalid("input", zero_persistence.NO_SAVED_INPUTS)
        _usable_dataclip(dataclip_id, project_id)
    starting_trigger_id = None
    if step_id is None:
        starting_trigger_id, step_id = _default_start(workflow)
    elif step_id not in {s.id for s in workflow.steps}:
        raise Invalid("step_id", "That step is not part of this workflow.")
    work_order = WorkOrder(
        project_id=project_id,
        workflow_id=workflow.id,
        snapshot_id=snapshot.id,
        dataclip_id=dataclip_id,
    )
    db.session.add(work_order)
    db.session.flush()
    run = _manual_run(
        work_order.id,
        workflow.id,
        snapshot.id,
        project_id,
        actor_id,
        dataclip_id,
        starting_trigger_id,
        step_id,
    )
    db.session.commit()
    queue.enqueue_run(run.id, priority=MANUAL_PRIORITY)
    return run


def retry_run(
    run_id: uuid.UUID,
    *,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    step_id: uuid.UUID | None = None,
    snapshot: Literal["latest", "original"] = "latest",
    priority: int = MANUAL_PRIORITY,
) -> Run:
    """A new run in the same work order, from the start or from `step_id` with the input
    that step received in `run_id`; `priority` is its lane (bulk reruns: BATCH_PRIORITY)."""
    original = db.session.get(Run, run_id)
    if original is None or original.project_id != project_id:
        raise NotFound("There is no such run in this project.")
    if not RunState(original.state).is_final:
        raise Conflict("This run has not finished yet; retry it once it has.")
    if step_id is None:
        dataclip_id = _work_order_input(original.work_order_id)
        starting_trigger_id = original.starting_trigger_id
        starting_step_id = original.starting_step_id
    else:
        if zero_persistence_settings.is_on(project_id):
            raise Invalid("step_id", zero_persistence.NO_STEP_RETRY)
        dataclip_id = db.session.scalar(
            select(StepRun.input_dataclip_id)
            .where(StepRun.run_id == run_id, StepRun.step_id == step_id)
            .order_by(StepRun.started_at)
            .limit(1)
        )
        if dataclip_id is None:
            raise Invalid(
                "step_id",
                "That step did not run in this run, so there is no input to retry it with.",
            )
        starting_trigger_id, starting_step_id = None, step_id
    if dataclip_id is not None:
        _usable_dataclip(dataclip_id, project_id)
    snapshot_id = (
        original.snapshot_id
        if snapshot == "original"
        else snapshots.latest_snapshot(original.workflow_id).id
    )
    run = _manual_run(
        original.work_order_id,
        original.workflow_id,
        snapshot_id,
        project_id,
        actor_id,
        dataclip_id,
        starting_trigger_id,
        starting_step_id,
        priority,
    )
    db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == original.work_order_id)
        .values(state=WorkOrderState.PENDING, last_activity_at=utcnow())
    )
    db.session.commit()
    queue.enqueue_run(run.id, priority=priority)
    return run


def _manual_run(
    work_order_id: uuid.UUID,
    workflow_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    dataclip_id: uuid.UUID | None,
    starting_trigger_id: uuid.UUID | None,
    starting_step_id: uuid.UUID | None,
    priority: int = MANUAL_PRIORITY,
) -> Run:
    """A run started by a person (new or retried), added to the session: manual runs jump
    the queue (MANUAL_PRIORITY) and record who asked."""
    run = Run(
        work_order_id=work_order_id,
        project_id=project_id,
        workflow_id=workflow_id,
        snapshot_id=snapshot_id,
        starting_trigger_id=starting_trigger_id,
        starting_step_id=starting_step_id,
        dataclip_id=dataclip_id,
        priority=priority,
        created_by_id=actor_id,
        state=RunState.AVAILABLE,
    )
    db.session.add(run)
    return run


def cancel_run(run_id: uuid.UUID, *, project_id: uuid.UUID) -> None:
    """Cancel a run that no worker has claimed yet."""
    cancelled = db.session.execute(
        update(Run)
        .where(Run.id == run_id, Run.project_id == project_id, Run.state == RunState.AVAILABLE)
        .values(state=RunState.CANCELLED, finished_at=utcnow())
        .returning(Run.work_order_id)
    ).first()
    if cancelled is None:
        db.session.rollback()
        raise Conflict("Only runs still waiting for a worker can be cancelled.")
    db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == cancelled[0])
        .values(state=WorkOrderState.CANCELLED, last_activity_at=utcnow())
    )
    db.session.commit()
    events.publish(
        project_id, run_id, "run_finished", state="cancelled", work_order_id=cancelled[0]
    )


def rerun_work_orders(
    work_order_ids: list[uuid.UUID],
    *,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    step_key: str | None = None,
) -> dict:
    """Rerun each work order's latest run, from the start or from the step with `step_key`,
    in the batch lane; returns counts of created and skipped (unfinished, wiped input, step
    absent)."""
    created, skipped = 0, 0
    latest = _latest_runs(work_order_ids, project_id)
    step_ids = _steps_keyed(work_order_ids, step_key) if step_key is not None else {}
    for run in latest:
        step_id = step_ids.get(run.work_order_id)
        if step_key is not None and step_id is None:
            skipped += 1
            continue
        try:
            retry_run(
                run.id,
                project_id=project_id,
                actor_id=actor_id,
                step_id=step_id,
                priority=BATCH_PRIORITY,
            )
            created += 1
        except (Invalid, Conflict, NotFound):
            db.session.rollback()
            skipped += 1
    return {"created": created, "skipped": skipped + len(work_order_ids) - len(latest)}


def _latest_runs(work_order_ids: list[uuid.UUID], project_id: uuid.UUID) -> list[Run]:
    runs = db.session.scalars(
        select(Run)
        .where(Run.work_order_id.in_(work_order_ids), Run.project_id == project_id)
        .order_by(Run.work_order_id, Run.inserted_at.desc())
    ).all()
    latest: dict[uuid.UUID, Run] = {}
    for run in runs:
        latest.setdefault(run.work_order_id, run)
    return list(latest.values())


def _steps_keyed(work_order_ids: list[uuid.UUID], key: str) -> dict[uuid.UUID, uuid.UUID]:
    """Each work order's step with this key that one of its runs reached, in one query."""
    rows = db.session.execute(
        select(Run.work_order_id, StepRun.step_id)
        .join(StepRun, StepRun.run_id == Run.id)
        .join(Step, Step.id == StepRun.step_id)
        .where(Run.work_order_id.in_(work_order_ids), Step.key == key)
    )
    found: dict[uuid.UUID, uuid.UUID] = {}
    for work_order_id, step_id in rows:
        found.setdefault(work_order_id, step_id)
    return found


def _default_start(workflow: Workflow) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """A manual run starts where the first trigger leads, or at the first step."""
    for trigger in sorted(workflow.triggers, key=lambda t: t.key):
        if any(e.source_trigger_id == trigger.id for e in workflow.edges):
            return trigger.id, None
    if not workflow.steps:
        raise Invalid("workflow", "This workflow has no steps to run.")
    targets = {e.target_step_id for e in workflow.edges}
    roots = [s for s in workflow.steps if s.id not in targets] or list(workflow.steps)
    return None, sorted(roots, key=lambda s: s.key)[0].id


def _work_order_input(work_order_id: uuid.UUID) -> uuid.UUID | None:
    return db.session.scalar(select(WorkOrder.dataclip_id).where(WorkOrder.id == work_order_id))


def _usable_dataclip(dataclip_id: uuid.UUID, project_id: uuid.UUID) -> None:
    clip = db.session.get(Dataclip, dataclip_id)
    if clip is None or clip.project_id != project_id:
        raise NotFound("There is no such input in this project.")
    if clip.wiped_at is not None:
        raise Invalid(
            "input",
            f"This input was wiped on {clip.wiped_at:%Y-%m-%d} by the project's retention "
            "policy, so the run cannot be retried from it.",
        )
    if clip.not_stored:
        raise Invalid("input", zero_persistence.NO_RETRY)
