"""The retention purge: wipe dataclip bodies older than a project's dataclip limit and delete
history older than its history limit, in small batches.

Each batch is one short transaction on at most BATCH rows found through an index, with a
pause between batches, so webhooks keep being accepted at their usual latency while a
backlog of millions of rows drains (bench/retention_purge.py measures it). Nothing that an
unfinished run may still read is touched: open work orders stay, and no body newer than the
oldest open run of the project (or used as an open run's input) is wiped.

The scheduler queues the job (`queue_purge`); one job at a time does the work, within a time
budget, and the next tick goes on where it stopped (the rows are the only bookmark).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import delete, func, or_, select, update

from app.extensions import db
from app.models import Dataclip, DataclipType, Project, Run, RunState, WorkOrder
from app.models.base import utcnow
from app.services.background_jobs import enqueue_once
from app.services.retention.policy import OPEN_STATES

log = logging.getLogger(__name__)

BATCH = 500
# Between batches the purge rests at least PAUSE_S, and four times as long as the batch took:
# it then takes at most a fifth of one core and of the database's time, whatever the machine.
# What webhooks still feel is each batch's commit: its WAL (up to ~1 MB after a checkpoint)
# is flushed to disk, and commits that arrive meanwhile wait for that flush
# (bench/retention_purge.py; smaller batches flush less at a time but cost more per row).
PAUSE_S = 0.02
PAUSE_FACTOR = 4.0
# One job works this long at most; the next scheduler tick queues another for the rest.
BUDGET_S = 240.0
JOB = "workers.retention_jobs.purge"
JOB_ID = "ferry-retention-purge"
_OPEN_RUNS = (RunState.AVAILABLE, RunState.CLAIMED, RunState.STARTED)


@dataclass
class PurgeResult:
    """What one purge did: bodies wiped, work orders and dataclip rows deleted, and whether
    it reached the end (False: the time budget ran out first)."""

    wiped: int = 0
    work_orders: int = 0
    dataclips: int = 0
    finished: bool = True
    projects: list[uuid.UUID] = field(default_factory=list)


def purge(
    *, batch: int = BATCH, pause_s: float = PAUSE_S, budget_s: float = BUDGET_S
) -> PurgeResult:
    """Apply every project's retention policy until nothing is left or the budget is spent."""
    result = PurgeResult()
    deadline = time.monotonic() + budget_s
    for project_id, history_days, dataclip_days in _projects_with_a_policy():
        result.projects.append(project_id)
        now = utcnow()
        steps = []
        if dataclip_days is not None:
            cutoff = _wipe_cutoff(project_id, now - timedelta(days=dataclip_days))
            steps.append(("wiped", lambda p=project_id, c=cutoff: wipe_bodies(p, c, batch)))
        if history_days is not None:
            cutoff = now - timedelta(days=history_days)
            steps.append(
                ("work_orders", lambda p=project_id, c=cutoff: delete_work_orders(p, c, batch))
            )
            steps.append(
                ("dataclips", lambda p=project_id, c=cutoff: delete_dataclips(p, c, batch))
            )
        for counter, step in steps:
            while True:
                if time.monotonic() >= deadline:
                    result.finished = False
                    return result
                began = time.monotonic()
                done = step()
                setattr(result, counter, getattr(result, counter) + done)
                if done < batch:
                    break
                if pause_s:
                    time.sleep(max(pause_s, (time.monotonic() - began) * PAUSE_FACTOR))
    return result


def _projects_with_a_policy() -> list[tuple[uuid.UUID, int | None, int | None]]:
    rows = db.session.execute(
        select(Project.id, Project.history_retention_days, Project.dataclip_retention_days)
        .where(
            or_(
                Project.history_retention_days.is_not(None),
                Project.dataclip_retention_days.is_not(None),
            ),
            Project.deletion_requested_at.is_(None),
        )
        .order_by(Project.id)
    ).all()
    db.session.rollback()  # no transaction held open while the batches run
    return [tuple(row) for row in rows]


def _wipe_cutoff(project_id: uuid.UUID, cutoff: datetime) -> datetime:
    """The policy's cutoff, moved back before the project's oldest open run: a run still
    waiting or running may read any body made since it began."""
    oldest = db.session.scalar(
        select(func.min(Run.inserted_at)).where(
            Run.project_id == project_id, Run.state.in_(_OPEN_RUNS)
        )
    )
    return min(cutoff, oldest) if oldest is not None else cutoff


def _open_inputs(project_id: uuid.UUID):
    """The inputs of the project's unfinished runs (a few rows, by the runs' index)."""
    return select(Run.dataclip_id).where(
        Run.project_id == project_id, Run.state.in_(_OPEN_RUNS), Run.dataclip_id.is_not(None)
    )


def wipe_bodies(project_id: uuid.UUID, cutoff: datetime, batch: int = BATCH) -> int:
    """Wipe one batch of the project's bodies stored before `cutoff`; how many were wiped.

    Saved inputs are not history (people named and kept them on purpose), and an open run's
    input is kept until the run ends."""
    ids = (
        select(Dataclip.id)
        .where(
            Dataclip.project_id == project_id,
            Dataclip.wiped_at.is_(None),
            Dataclip.inserted_at < cutoff,
            Dataclip.type != DataclipType.SAVED_INPUT,
            # Never stored (zero persistence): nothing to wipe, and its page says so.
            Dataclip.not_stored.is_(False),
            Dataclip.id.not_in(_open_inputs(project_id)),
        )
        .order_by(Dataclip.inserted_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    wiped = db.session.execute(
        update(Dataclip)
        .where(Dataclip.id.in_(ids.scalar_subquery()))
        .values(body=None, raw_body=None, request=None, wiped_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return wiped


def delete_work_orders(project_id: uuid.UUID, cutoff: datetime, batch: int = BATCH) -> int:
    """Delete one batch of finished work orders last active before `cutoff`, with their
    runs, step runs and log lines (ON DELETE CASCADE); how many went."""
    ids = (
        select(WorkOrder.id)
        .where(
            WorkOrder.project_id == project_id,
            WorkOrder.last_activity_at < cutoff,
            WorkOrder.state.not_in(OPEN_STATES),
        )
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return _delete(WorkOrder, ids)


def delete_dataclips(project_id: uuid.UUID, cutoff: datetime, batch: int = BATCH) -> int:
    """Delete one batch of the project's dataclip rows stored before `cutoff` (their bodies
    were wiped already, since bodies never outlive history); saved inputs stay."""
    cutoff = _wipe_cutoff(project_id, cutoff)
    ids = (
        select(Dataclip.id)
        .where(
            Dataclip.project_id == project_id,
            Dataclip.inserted_at < cutoff,
            Dataclip.type != DataclipType.SAVED_INPUT,
            Dataclip.id.not_in(_open_inputs(project_id)),
        )
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return _delete(Dataclip, ids)


def _delete(model, ids) -> int:
    """Delete the rows `ids` selects, in a transaction of their own; how many went."""
    deleted = db.session.execute(
        delete(model)
        .where(model.id.in_(ids.scalar_subquery()))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted


def queue_purge() -> bool:
    """Queue the purge job unless one is queued or running (the scheduler calls this);
    True when a job was queued."""
    if not _projects_with_a_policy():
        return False
    try:
        return enqueue_once(JOB, job_id=JOB_ID, timeout_s=int(BUDGET_S * 2))
    except RedisError:
        log.warning("Could not queue the retention purge; the next scheduler tick will retry.")
        return False
