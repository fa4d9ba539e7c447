"""Cron triggers: create one work order per due tick, exactly once across schedulers.

The unique constraint on (trigger_id, cron_tick_at) is what makes two schedulers safe: both
may see a tick as due, only one INSERT succeeds. Times are computed in the trigger's time
zone, so "0 2 * * *" in Africa/Cairo means 02:00 local across daylight-saving changes. After
downtime only the latest missed tick runs (no backfill flood). Each run starts from the
trigger's cursor (`cron_cursor`): the last successful run's final state, a chosen step's
output in it, or nothing. Cron runs go to the batch lane (priority 1).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Run,
    RunState,
    Trigger,
    TriggerType,
    Workflow,
    WorkflowSnapshot,
    WorkOrder,
)
from app.services.runs import queue
from app.services.triggers import cron_cursor


def latest_tick(expression: str, timezone: str, now: datetime) -> datetime:
    """The most recent moment at or before `now` that the expression fires, in UTC."""
    local_now = now.astimezone(ZoneInfo(timezone))
    previous = croniter(expression, local_now).get_prev(datetime)
    if croniter.match(expression, local_now.replace(second=0, microsecond=0)):
        previous = local_now.replace(second=0, microsecond=0)
    return previous.astimezone(UTC)


def next_ticks(expression: str, timezone: str, now: datetime, count: int = 5) -> list[datetime]:
    """The next `count` fire times after `now`, in the trigger's time zone."""
    iterator = croniter(expression, now.astimezone(ZoneInfo(timezone)))
    return [iterator.get_next(datetime) for _ in range(count)]


def tick(now: datetime | None = None) -> list[uuid.UUID]:
    """Create work orders for every enabled cron trigger that is due; returns the run ids."""
    now = now or datetime.now(UTC)
    due = db.session.execute(
        select(Trigger, Workflow.project_id)
        .join(Workflow, Workflow.id == Trigger.workflow_id)
        .where(
            Trigger.type == TriggerType.CRON,
            Trigger.enabled.is_(True),
            Workflow.deleted_at.is_(None),
        )
    ).all()
    created = []
    for trigger, project_id in due:
        moment = latest_tick(trigger.cron_expression, trigger.cron_timezone, now)
        since = trigger.cron_last_tick_at or trigger.inserted_at
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if moment <= since:
            continue
        run_id = _create(trigger, project_id, moment)
        if run_id is not None:
            created.append(run_id)
    db.session.commit()
    for run_id in created:
        queue.enqueue_run(run_id)
    return created


def _create(trigger: Trigger, project_id: uuid.UUID, moment: datetime) -> uuid.UUID | None:
    snapshot_id = db.session.scalar(
        select(WorkflowSnapshot.id)
        .where(WorkflowSnapshot.workflow_id == trigger.workflow_id)
        .order_by(WorkflowSnapshot.lock_version.desc())
        .limit(1)
    )
    dataclip_id = _cron_input(trigger)
    work_order = WorkOrder(
        id=uuid.uuid4(),
        project_id=project_id,
        workflow_id=trigger.workflow_id,
        trigger_id=trigger.id,
        snapshot_id=snapshot_id,
        dataclip_id=dataclip_id,
        cron_tick_at=moment,
    )
    run = Run(
        id=uuid.uuid4(),
        work_order_id=work_order.id,
        project_id=project_id,
        workflow_id=trigger.workflow_id,
        snapshot_id=snapshot_id,
        starting_trigger_id=trigger.id,
        dataclip_id=dataclip_id,
        state=RunState.AVAILABLE,
        priority=1,
    )
    try:
        with db.session.begin_nested():
            # Two flushes: the models have no relationship that would order the INSERTs.
            db.session.add(work_order)
            db.session.flush()
            db.session.add(run)
    except IntegrityError:
        return None  # another scheduler created this tick's work order first
    trigger.cron_last_tick_at = moment
    return run.id


def _cron_input(trigger: Trigger) -> uuid.UUID | None:
    return cron_cursor.next_dataclip_id(
        trigger.workflow_id, trigger.cron_input, trigger.cron_input_step_id
    )
