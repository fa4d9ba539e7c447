"""Handing runs to workers: the run id goes onto the Redis queue, after commit.

Redis is only a hint: if it is down, the run row stays `available` and the scheduler's
sweeper enqueues it again later, so nothing accepted is ever lost.
"""

from __future__ import annotations

import logging
import uuid

from redis.exceptions import RedisError
from rq import Queue

from app.extensions import PRIORITY_RUN_QUEUE, RUN_QUEUE, queue

log = logging.getLogger("ferry.runs")

# The worker-side function, named by path: the web side never imports worker code.
EXECUTE_RUN = "workers.jobs.execute_run"


def enqueue_run(run_id: uuid.UUID | str, *, priority: int = 1) -> bool:
    """Put the run on its queue (priority 0: manual runs and retries go first); False (and a
    warning) when Redis cannot be reached."""
    try:
        # enqueue_many writes the job and pushes it in one round trip; enqueue takes two.
        queue(PRIORITY_RUN_QUEUE if priority == 0 else RUN_QUEUE).enqueue_many(
            [
                Queue.prepare_data(
                    EXECUTE_RUN,
                    (str(run_id),),
                    job_id=f"run-{run_id}",
                    result_ttl=0,
                    failure_ttl=24 * 3600,
                    timeout=-1,  # the executor enforces the run timeout itself
                )
            ]
        )
    except (RedisError, OSError) as error:
        log.warning("run %s saved but not queued (%s); the sweeper will queue it", run_id, error)
        return False
    return True
