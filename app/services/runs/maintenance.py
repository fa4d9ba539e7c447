"""Keeping runs moving: the reaper (silent workers -> lost), the sweeper (runs whose queue
entry vanished, e.g. after a Redis restart, are queued again) and due retries (runs that
waited for an automatic retry are queued once their time has come, never before).

A waiting run is `available` with a future `available_at`: the reaper never sees it (it
looks at started runs only) and the sweeper leaves it alone until it is due, so a worker or
Redis restart during the wait changes nothing; the row is the truth.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from app.config import Settings
from app.extensions import db, redis_client
from app.models import Run, RunState
from app.models.base import utcnow
from app.services.runs import lifecycle
from app.services.runs import queue as run_queue
from app.services.runs.claims import due

SWEEP_AFTER_S = 10
SWEEP_BATCH = 1000
# How often the scheduler looks for due retries: a retry starts at most this late (plus a
# scheduler tick) after its time.
DUE_RETRIES_EVERY_S = 1.0
# How often the scheduler (`workers.scheduler`) calls `reap`, and how often it wakes to see
# which task is due: a task runs up to one tick after its time.
REAPER_EVERY_S = 2.0
SCHEDULER_TICK_S = 0.5


def lost_within_s(settings: Settings) -> float:
    """The longest a killed worker's run stays `started`, in seconds (22.5 by default).

    A run's last heartbeat (one UPDATE per worker every FERRY_HEARTBEAT_S, for all its runs)
    comes before the kill at the latest; the reaper marks the run lost once that heartbeat
    is FERRY_LOST_AFTER_S old, and it runs every REAPER_EVERY_S, up to a scheduler tick
    late. So: lost_after_s + REAPER_EVERY_S + SCHEDULER_TICK_S after the kill at worst, and
    not before lost_after_s - heartbeat_s (a live worker beats at least three times within
    the timeout: `Settings.from_env` refuses less). The defaults keep the worst case 7.5 s
    under the 30 s promise, room for a scheduler tick slowed by its other tasks.
    """
    return settings.lost_after_s + REAPER_EVERY_S + SCHEDULER_TICK_S


def reap() -> list[uuid.UUID]:
    """Mark runs whose heartbeat is older than FERRY_LOST_AFTER_S as lost."""
    settings = current_app.config["FERRY_SETTINGS"]
    return lifecycle.mark_lost(timedelta(seconds=settings.lost_after_s))


def sweep() -> int:
    """Queue again available runs older than a few seconds that have no queue entry."""
    now = utcnow()
    cutoff = now - timedelta(seconds=SWEEP_AFTER_S)
    rows = db.session.execute(
        select(Run.id, Run.priority)
        .where(Run.state == RunState.AVAILABLE, Run.inserted_at < cutoff, due(now))
        .order_by(Run.priority, Run.inserted_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    return _enqueue_missing(rows)


def queue_due_retries() -> int:
    """Queue the runs whose automatic retry is due and that have no queue entry yet, with
    the priority they had; returns how many were queued."""
    now = utcnow()
    rows = db.session.execute(
        select(Run.id, Run.priority)
        .where(
            Run.state == RunState.AVAILABLE,
            Run.available_at <= now,
            # Older ones the sweeper queues again (a run held back by a concurrency cap
            # would otherwise be offered to a worker every second).
            Run.available_at > now - timedelta(seconds=3 * SWEEP_AFTER_S),
        )
        .order_by(Run.available_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    return _enqueue_missing(rows)


def _enqueue_missing(rows) -> int:
    """Queue those of the (run id, priority) rows that have no queue entry."""
    if not rows:
        return 0
    try:
        pipe = redis_client().pipeline(transaction=False)
        for run_id, _ in rows:
            pipe.exists(run_queue.job_key(run_id))
        present = pipe.execute()
    except (RedisError, OSError):
        return 0  # Redis is still away; the next sweep tries again
    missing = [
        (run_id, priority)
        for (run_id, priority), found in zip(rows, present, strict=True)
        if not found
    ]
    for run_id, priority in missing:
        run_queue.enqueue_run(run_id, priority=priority)
    return len(missing)
