"""Handing a failed run to the alert job: its id goes onto the mail queue, after the run's
final commit.

Composing and sending happen in the job (workers.notification_jobs), never in the web
request or the run's worker loop. Redis is only a hint here, as for runs: if it is down when
the run ends, the scheduler's sweeper (`sweep`) queues the alert later, so a failure is not
left unannounced. The job is idempotent per run and recipient, so a second queueing is
harmless.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Retry
from rq.job import Job
from sqlalchemy import select

from app.extensions import MAIL_QUEUE, db, queue, redis_client
from app.models import Run, RunState
from app.models.base import utcnow

log = logging.getLogger("ferry.alerts")

ALERT_JOB = "workers.notification_jobs.failure_alert"
# The states a failure alert is sent for (cancelled is someone's choice, not a failure).
ALERT_STATES = frozenset(
    {RunState.FAILED, RunState.CRASHED, RunState.KILLED, RunState.EXCEPTION, RunState.LOST}
)
# The sweeper looks back this far; the job hash is kept longer (JOB_KEPT_S), so a run
# whose alert was queued is never queued again by the sweeper.
SWEEP_AFTER_S = 10
SWEEP_WITHIN = timedelta(minutes=15)
SWEEP_BATCH = 1000
JOB_KEPT_S = 3600


def job_id(run_id: uuid.UUID | str) -> str:
    """A run's alert job id, the same every time (the sweeper looks for its hash)."""
    return f"failure-alert-{run_id}"


def enqueue_alert(run_id: uuid.UUID | str) -> bool:
    """Queue the failure alert of a run that has ended unsuccessfully (call after commit);
    False when Redis cannot be reached (the sweeper queues it later)."""
    try:
        queue(MAIL_QUEUE).enqueue(
            ALERT_JOB,
            str(run_id),
            job_id=job_id(run_id),
            result_ttl=JOB_KEPT_S,
            # Idempotent per recipient, so a retry after a database blip sends nothing twice.
            retry=Retry(max=2, interval=[10, 60]),
            description=f"failure alert for run {run_id}",
        )
    except (RedisError, OSError) as error:
        log.warning("failure alert for run %s not queued (%s); the sweeper will", run_id, error)
        return False
    return True


def enqueue_alerts(run_ids: Iterable[uuid.UUID], state: RunState | str) -> None:
    """Queue the alerts of runs that just ended in `state`, if it is a failure."""
    if RunState(state) not in ALERT_STATES:
        return
    for run_id in run_ids:
        enqueue_alert(run_id)


def sweep() -> int:
    """Queue the alerts of recently failed runs whose alert job never reached Redis."""
    now = utcnow()
    rows = db.session.scalars(
        select(Run.id)
        .where(
            Run.state.in_(ALERT_STATES),
            Run.finished_at > now - SWEEP_WITHIN,
            Run.finished_at < now - timedelta(seconds=SWEEP_AFTER_S),
        )
        .order_by(Run.finished_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.commit()
    if not rows:
        return 0
    try:
        pipe = redis_client().pipeline(transaction=False)
        for run_id in rows:
            pipe.exists(Job.key_for(job_id(run_id)))
        present = pipe.execute()
    except (RedisError, OSError):
        return 0  # still away; the next sweep tries again
    missing = [run_id for run_id, found in zip(rows, present, strict=True) if not found]
    for run_id in missing:
        enqueue_alert(run_id)
    return len(missing)
