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
from app.services import run_events

log = logging.getLogger("ferry.runs")

# The worker-side function, named by path: the web side never imports worker code.
EXECUTE_RUN = "workers.jobs.execute_run"


def enqueue_run(
    run_id: uuid.UUID | str,
    *,
    priority: int = 1,
    announce: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> bool:
    """Put the run on its queue (priority 0: manual runs and retries go first); False (and a
    warning) when Redis cannot be reached.

    `announce` = (project_id, work_order_id) also publishes `work_order_created` for live
    history pages, in the same round trip as the enqueue."""
    try:
        run_queue = queue(PRIORITY_RUN_QUEUE if priority == 0 else RUN_QUEUE)
        pipe = run_queue.connection.pipeline()
        # enqueue_many writes the job and pushes it in one round trip; enqueue takes two.
        run_queue.enqueue_many(
            [
                Queue.prepare_data(
                    EXECUTE_RUN,
                    (str(run_id),),
                    job_id=f"run-{run_id}",
                    result_ttl=0,
                    failure_ttl=24 * 3600,
                    timeout=-1,  # the executor enforces the run timeout itself
                )
            ],
            pipeline=pipe,
        )
        if announce is not None:
            project_id, work_order_id = announce
            event = run_events.message("work_order_created", run_id, work_order_id=work_order_id)
            pipe.publish(run_events.project_channel(project_id), event)
        pipe.execute()
    except (RedisError, OSError) as error:
        log.warning("run %s saved but not queued (%s); the sweeper will queue it", run_id, error)
        return False
    return True
