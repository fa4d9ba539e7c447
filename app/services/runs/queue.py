"""Handing runs to workers: the run id goes onto the Redis queue, after commit.

Redis is only a hint: if it is down, the run row stays `available` and the scheduler's
sweeper enqueues it again later, so nothing accepted is ever lost.
"""

from __future__ import annotations

import logging
import time
import uuid
import zlib

from redis.commands.core import Script
from redis.exceptions import RedisError
from rq.job import Job
from rq.queue import Queue
from rq.serializers import resolve_serializer
from rq.utils import now, utcformat

from app.extensions import PRIORITY_RUN_QUEUE, RUN_QUEUE, redis_client
from app.services.metrics import histograms
from app.services.runs import events

log = logging.getLogger("ferry.runs")

# The worker-side function, named by path: the web side never imports worker code.
EXECUTE_RUN = "workers.jobs.execute_run"
_SERIALIZER = resolve_serializer(None)


def job_key(run_id: uuid.UUID | str) -> str:
    """The Redis key of a run's queued job (the sweeper looks for it)."""
    return Job.key_for(job_id(run_id))


def job_id(run_id: uuid.UUID | str) -> str:
    """A run's job id, the same every time it is queued (the claim runs a run only once)."""
    return f"run-{run_id}"


def enqueue_run(
    run_id: uuid.UUID | str,
    *,
    priority: int = 1,
    announce: tuple[uuid.UUID, uuid.UUID] | None = None,
    accepted_since: float | None = None,
) -> bool:
    """Put the run on its queue (priority 0: manual runs and retries go first); False (and a
    warning) when Redis cannot be reached.

    `announce` = (project_id, work_order_id) also publishes `work_order_created` for live
    history pages, in the same round trip as the enqueue. `accepted_since` (the
    `time.perf_counter()` at which a webhook request reached its view) observes the accept
    latency for /metrics in that round trip too."""
    queue_name = PRIORITY_RUN_QUEUE if priority == 0 else RUN_QUEUE
    channel = message = bucket_field = sum_field = seconds = ""
    if announce is not None:
        project_id, work_order_id = announce
        channel = events.project_channel(project_id)
        message = events.message("work_order_created", run_id, work_order_id=work_order_id)
    if accepted_since is not None:
        latency = time.perf_counter() - accepted_since
        bucket_field, sum_field, seconds = histograms.observation(
            histograms.WEBHOOK_ACCEPT, latency
        )
    fields = _job_fields(str(run_id), queue_name)
    try:
        _ENQUEUE(
            keys=(
                job_key(run_id),
                Queue.redis_queue_namespace_prefix + queue_name,
                histograms.WEBHOOK_ACCEPT.key,
            ),
            args=(
                job_id(run_id),
                channel,
                message,
                bucket_field,
                sum_field,
                seconds,
                *(item for pair in fields.items() for item in pair),
            ),
            client=redis_client(),
        )
    except (RedisError, OSError) as error:
        log.warning("run %s saved but not queued (%s); the sweeper will queue it", run_id, error)
        return False
    return True


# The job hash, the push, the announcement and the accept latency in one command, applied
# whole or not at all. As a pipeline in MULTI/EXEC they were seven commands and seven
# replies: the biggest part of a webhook's CPU in the web process after the SQL.
_ENQUEUE = Script(
    None,
    b"""
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
if ARGV[4] ~= '' then
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
  redis.call('HINCRBYFLOAT', KEYS[3], ARGV[5], ARGV[6])
end
""",
)


def forget_job(pipeline, key: str, enqueued_at: str | None) -> None:
    """Add to `pipeline` the deletion of a run job's hash once a worker is done with it,
    unless the run was queued again meanwhile (its `enqueued_at` changed).

    A run held back by a concurrency cap is queued again when the run holding it ends; that
    can happen while another worker still holds the first job, between its claim being
    refused and its cleanup. Deleting the hash then would drop the new queue entry (a
    worker skips an id without a hash), and the run would wait for the sweeper."""
    if enqueued_at is None:  # not a hash Ferry wrote: nothing to compare, delete it
        pipeline.delete(key)
        return
    _FORGET(keys=(key,), args=(enqueued_at,), client=pipeline)


_FORGET = Script(
    None,
    b"""
if redis.call('HGET', KEYS[1], 'enqueued_at') == ARGV[1] then redis.call('DEL', KEYS[1]) end
""",
)


def _job_fields(run_id: str, queue_name: str) -> dict:
    """An RQ job hash with the fields `Job.fetch` reads, written directly.

    RQ's own `enqueue` builds a Job object and saves about 25 fields, which was a third of
    a webhook request's CPU. Any RQ worker runs this job like one RQ enqueued:
    `execute_run(run_id)`, no timeout of RQ's (the executor enforces the run timeout), no
    result kept (the database holds it). A test checks `Job.fetch` reads it back."""
    stamp = utcformat(now())
    return {
        "data": zlib.compress(_SERIALIZER.dumps((EXECUTE_RUN, None, (run_id,), {}))),
        "description": f"{EXECUTE_RUN}('{run_id}')",
        "origin": queue_name,
        "status": "queued",
        "created_at": stamp,
        "enqueued_at": stamp,
        "timeout": -1,
        "result_ttl": 0,
    }
