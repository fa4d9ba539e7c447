"""Keeping runs moving: the reaper (silent workers -> lost) and the sweeper (runs whose queue
entry vanished, e.g. after a Redis restart, are queued again)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from app.extensions import db, redis_client
from app.models import Run, RunState
from app.models.base import utcnow
from app.services.runs import lifecycle
from app.services.runs import queue as run_queue

SWEEP_AFTER_S = 10
SWEEP_BATCH = 1000


def reap() -> list[uuid.UUID]:
    """Mark runs whose heartbeat is older than FERRY_LOST_AFTER_S as lost."""
    settings = current_app.config["FERRY_SETTINGS"]
    return lifecycle.mark_lost(timedelta(seconds=settings.lost_after_s))


def sweep() -> int:
    """Queue again available runs older than a few seconds that have no queue entry."""
    cutoff = utcnow() - timedelta(seconds=SWEEP_AFTER_S)
    rows = db.session.execute(
        select(Run.id, Run.priority)
        .where(Run.state == RunState.AVAILABLE, Run.inserted_at < cutoff)
        .order_by(Run.priority, Run.inserted_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
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
