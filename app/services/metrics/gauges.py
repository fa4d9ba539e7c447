"""Gauges read from the database at scrape time: runs by state, the queue of each lane, runs
waiting for an automatic retry, and runs lost lately.

Three statements, each served by an index on `runs`: (state, ...) for the grouped count and
the lost runs, (state, priority, inserted_at) for the lanes, whose scan covers available
runs only. The grouped count visits every run; measured on PostgreSQL with 100,000 runs it
takes about 10 ms (see tests/services/test_metrics_gauges.py for the measurement), cheap at
Prometheus's usual 15-60 s interval. Every value is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Run, RunState
from app.models.base import utcnow

# Runs of priority 0 (manual runs, synchronous webhooks) form the priority lane; every
# other priority is batch work (webhooks, cron, bulk reruns).
PRIORITY_LANE, BATCH_LANE = "priority", "batch"
LANES = (PRIORITY_LANE, BATCH_LANE)
LOST_WINDOW = timedelta(hours=1)


@dataclass
class Lane:
    """One lane's queue: runs ready to claim, the oldest one's age, and runs whose automatic
    retry is not due yet (they are `available` too, but no worker may take them)."""

    depth: int = 0
    oldest_age_s: float = 0.0
    waiting_retry: int = 0


@dataclass(frozen=True)
class RunGauges:
    """What the database says at one moment."""

    by_state: dict[str, int]
    lanes: dict[str, Lane]
    lost_last_hour: int


def lane_of(priority: int) -> str:
    """The lane a run's priority puts it in."""
    return PRIORITY_LANE if priority == 0 else BATCH_LANE


def read(now: datetime | None = None) -> RunGauges:
    """Count runs by state, read each lane's queue and count recently lost runs."""
    now = now or utcnow()
    by_state = {state.value: 0 for state in RunState}
    for state, count in db.session.execute(select(Run.state, func.count()).group_by(Run.state)):
        by_state[RunState(state).value] = count
    lanes = {name: Lane() for name in LANES}
    for priority, ready, oldest, waiting in db.session.execute(_lanes_query(now)):
        lane = lanes[lane_of(priority)]
        lane.depth += ready
        lane.waiting_retry += waiting
        if oldest is not None:
            lane.oldest_age_s = max(lane.oldest_age_s, (now - oldest).total_seconds())
    lost = db.session.scalar(
        select(func.count()).where(Run.state == RunState.LOST, Run.finished_at >= now - LOST_WINDOW)
    )
    db.session.commit()  # end the read transaction; nothing was written
    return RunGauges(by_state, lanes, lost or 0)


def _lanes_query(now: datetime):
    # A run waiting for a retry became claimable at `available_at`: its age in the queue
    # counts from then, not from when it was first queued.
    ready = or_(Run.available_at.is_(None), Run.available_at <= now)
    return (
        select(
            Run.priority,
            func.count().filter(ready),
            func.min(func.coalesce(Run.available_at, Run.inserted_at)).filter(ready),
            func.count().filter(Run.available_at > now),
        )
        .where(Run.state == RunState.AVAILABLE)
        .group_by(Run.priority)
    )
