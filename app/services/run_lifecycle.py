"""A run's way through its states, as the executor reports it.

available -> claimed -> started -> success | failed | crashed | killed | exception | lost
(cancelled is set from outside while a run is still available). Every function here is one
short transaction, so a live view sees each change as soon as it happens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from app.extensions import db
from app.models import (
    Dataclip,
    DataclipType,
    LogLine,
    Project,
    Run,
    RunState,
    StepExitReason,
    StepRun,
    Workflow,
    WorkOrder,
    WorkOrderState,
)
from app.models.base import utcnow
from app.services import run_events

OPEN_STATES = (RunState.CLAIMED, RunState.STARTED)


@dataclass(frozen=True)
class ClaimedRun:
    """What the executor needs about a run it now owns."""

    id: uuid.UUID
    work_order_id: uuid.UUID
    project_id: uuid.UUID
    workflow_id: uuid.UUID
    snapshot_id: uuid.UUID
    starting_trigger_id: uuid.UUID | None
    starting_step_id: uuid.UUID | None
    dataclip_id: uuid.UUID | None


def claim(run_id: uuid.UUID, worker_name: str) -> ClaimedRun | None:
    """Claim this run, or the run that must go before it; None when nothing may start now.

    Without limits the run is claimed by one conditional UPDATE, so two workers can never
    both own it. When its workflow or project caps concurrency, the workflow's (or
    project's) row is locked first, the open runs are counted, and the next available run
    in order (priority, then arrival) is claimed instead: that keeps arrival order when
    concurrency is 1.
    """
    row = db.session.execute(
        select(Run.workflow_id, Run.project_id, Workflow.concurrency, Project.concurrency)
        .join(Workflow, Workflow.id == Run.workflow_id)
        .join(Project, Project.id == Run.project_id)
        .where(Run.id == run_id)
    ).first()
    if row is None:
        db.session.rollback()
        return None
    workflow_id, project_id, workflow_cap, project_cap = row
    candidate = run_id
    if workflow_cap or project_cap:
        candidate = _next_in_line(workflow_id, project_id, workflow_cap, project_cap)
        if candidate is None:
            db.session.rollback()
            return None
    now = utcnow()
    claimed = db.session.execute(
        update(Run)
        .where(Run.id == candidate, Run.state == RunState.AVAILABLE)
        .values(
            state=RunState.CLAIMED, claimed_at=now, heartbeat_at=now, worker_name=worker_name[:200]
        )
        .returning(
            Run.id,
            Run.work_order_id,
            Run.project_id,
            Run.workflow_id,
            Run.snapshot_id,
            Run.starting_trigger_id,
            Run.starting_step_id,
            Run.dataclip_id,
        )
    ).first()
    db.session.commit()
    return ClaimedRun(*claimed) if claimed else None


def _next_in_line(workflow_id, project_id, workflow_cap, project_cap) -> uuid.UUID | None:
    if project_cap:
        db.session.execute(select(Project.id).where(Project.id == project_id).with_for_update())
        if _open_runs(Run.project_id == project_id) >= project_cap:
            return None
    if workflow_cap:
        db.session.execute(select(Workflow.id).where(Workflow.id == workflow_id).with_for_update())
        if _open_runs(Run.workflow_id == workflow_id) >= workflow_cap:
            return None
    scope = Run.workflow_id == workflow_id if workflow_cap else Run.project_id == project_id
    return db.session.scalar(
        select(Run.id)
        .where(scope, Run.state == RunState.AVAILABLE)
        .order_by(Run.priority, Run.inserted_at, Run.id)
        .limit(1)
    )


def _open_runs(condition) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Run).where(condition, Run.state.in_(OPEN_STATES))
        )
        or 0
    )


def start(run: ClaimedRun) -> None:
    """The run begins executing; its work order becomes running."""
    now = utcnow()
    db.session.execute(
        update(Run)
        .where(Run.id == run.id)
        .values(state=RunState.STARTED, started_at=now, heartbeat_at=now)
    )
    db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == run.work_order_id)
        .values(state=WorkOrderState.RUNNING, last_activity_at=now)
    )
    db.session.commit()
    run_events.publish(run.project_id, run.id, "run_started", work_order_id=run.work_order_id)


def heartbeat(run_id: uuid.UUID) -> None:
    """The worker is still on it."""
    db.session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state.in_(OPEN_STATES))
        .values(heartbeat_at=utcnow())
    )
    db.session.commit()


def begin_step(run: ClaimedRun, step: dict, input_dataclip_id: uuid.UUID | None) -> uuid.UUID:
    """Record that a step started; returns the step run id."""
    step_run = StepRun(
        run_id=run.id,
        step_id=uuid.UUID(step["id"]),
        step_name=step["name"],
        input_dataclip_id=input_dataclip_id,
        started_at=utcnow(),
    )
    db.session.add(step_run)
    db.session.commit()
    run_events.publish(
        run.project_id, run.id, "step_started", step_id=step["id"], step_run_id=step_run.id
    )
    return step_run.id


def finish_step(
    run: ClaimedRun,
    step_run_id: uuid.UUID,
    *,
    step_id: str,
    exit_reason: StepExitReason,
    output_state: dict | None,
    error: dict | None,
    logs: list[dict],
) -> uuid.UUID | None:
    """Store the step's output dataclip, log lines and exit reason; returns the dataclip id."""
    output_id = None
    if output_state is not None:
        output_id = uuid.uuid4()
        db.session.add(
            Dataclip(
                id=output_id,
                project_id=run.project_id,
                type=DataclipType.STEP_RESULT,
                body=output_state,
            )
        )
    if logs:
        db.session.execute(
            LogLine.__table__.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "run_id": run.id,
                    "step_run_id": step_run_id,
                    "level": line["level"],
                    "source": line["source"],
                    "message": line["message"],
                    # The sandbox stamps lines in epoch seconds; the column is a UTC time.
                    "timestamp": datetime.fromtimestamp(line["timestamp"], UTC),
                }
                for line in logs
            ],
        )
    db.session.flush()
    db.session.execute(
        update(StepRun)
        .where(StepRun.id == step_run_id)
        .values(
            exit_reason=exit_reason,
            output_dataclip_id=output_id,
            finished_at=utcnow(),
            error_type=(error or {}).get("type"),
            error_message=(error or {}).get("message"),
        )
    )
    db.session.commit()
    run_events.publish(
        run.project_id,
        run.id,
        "step_finished",
        step_id=step_id,
        step_run_id=step_run_id,
        exit_reason=exit_reason.value,
    )
    return output_id


def finish(
    run: ClaimedRun,
    state: RunState,
    *,
    final_dataclip_id: uuid.UUID | None = None,
    error_type: str | None = None,
    error_message: str | None = None,
) -> None:
    """The run ended; its work order takes the run's final state."""
    now = utcnow()
    db.session.execute(
        update(Run)
        .where(Run.id == run.id)
        .values(
            state=state,
            finished_at=now,
            final_dataclip_id=final_dataclip_id,
            error_type=error_type,
            error_message=error_message,
        )
    )
    db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == run.work_order_id)
        .values(state=WorkOrderState(state.value), last_activity_at=now)
    )
    db.session.commit()
    run_events.publish(
        run.project_id, run.id, "run_finished", state=state.value, work_order_id=run.work_order_id
    )


def waiting_runs_after(run: ClaimedRun, limit: int = 10) -> list[uuid.UUID]:
    """Available runs that a finished run may have been holding back (concurrency caps)."""
    return list(
        db.session.scalars(
            select(Run.id)
            .join(Workflow, Workflow.id == Run.workflow_id)
            .join(Project, Project.id == Run.project_id)
            .where(
                Run.state == RunState.AVAILABLE,
                or_(
                    and_(Run.workflow_id == run.workflow_id, Workflow.concurrency.isnot(None)),
                    and_(Run.project_id == run.project_id, Project.concurrency.isnot(None)),
                ),
            )
            .order_by(Run.priority, Run.inserted_at)
            .limit(limit)
        )
    )


def mark_lost(silent_for: timedelta) -> list[uuid.UUID]:
    """Turn runs whose worker stopped heartbeating into `lost` (and their open steps)."""
    cutoff = utcnow() - silent_for
    now = utcnow()
    lost = db.session.execute(
        update(Run)
        .where(Run.state.in_(OPEN_STATES), Run.heartbeat_at < cutoff)
        .values(
            state=RunState.LOST,
            finished_at=now,
            error_type="LostRun",
            error_message=f"The worker stopped reporting for more than "
            f"{int(silent_for.total_seconds())} s.",
        )
        .returning(Run.id, Run.work_order_id, Run.project_id)
    ).all()
    if lost:
        run_ids = [row[0] for row in lost]
        db.session.execute(
            update(StepRun)
            .where(StepRun.run_id.in_(run_ids), StepRun.finished_at.is_(None))
            .values(exit_reason=StepExitReason.LOST, finished_at=now)
        )
        db.session.execute(
            update(WorkOrder)
            .where(WorkOrder.id.in_([row[1] for row in lost]))
            .values(state=WorkOrderState.LOST, last_activity_at=now)
        )
    db.session.commit()
    for run_id, work_order_id, project_id in lost:
        run_events.publish(
            project_id, run_id, "run_finished", state="lost", work_order_id=work_order_id
        )
    return [row[0] for row in lost]
