"""Queueing a background job that must not run twice at once (a purge, a deletion): one job
id per piece of work, and no second copy while the first is queued or running."""

from __future__ import annotations

from app.extensions import DEFAULT_QUEUE, queue

# RQ states in which a job will still run (or is running): no second copy then.
ACTIVE = frozenset({"queued", "started", "deferred", "scheduled"})


def enqueue_once(function: str, *args: str, job_id: str, timeout_s: int) -> bool:
    """Queue `function(*args)` as `job_id` on the default queue unless that job is queued or
    running; True when it was queued now. Raises RedisError when Redis cannot be reached
    (callers leave it to the scheduler's next tick)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    jobs = queue(DEFAULT_QUEUE)
    try:
        if Job.fetch(job_id, connection=jobs.connection).get_status() in ACTIVE:
            return False
    except NoSuchJobError:
        pass
    jobs.enqueue(function, *args, job_id=job_id, job_timeout=timeout_s)
    return True
