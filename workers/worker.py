"""The RQ worker process, on both lanes (priority runs first, then batch runs, mail and other
jobs) or on the priority lane only (`workers.worker_pool` keeps such slots free)."""

from __future__ import annotations

import logging
import time

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.utils import now, utcformat
from rq.worker import WorkerStatus

from app.extensions import PRIORITY_RUN_QUEUE, QUEUE_NAMES, redis_client
from app.gc_freeze import freeze_startup_objects
from app.services.runs.queue import EXECUTE_RUN, forget_job

log = logging.getLogger("ferry.worker")
RECONNECT_EVERY_S = 2.0
# How often the worker's own key in Redis (RQ's "who is alive" record, kept for minutes)
# is refreshed. RQ refreshes it around every job; once every few seconds is plenty.
WORKER_KEY_REFRESH_S = 10.0
# How long an idle worker blocks waiting for a job before it looks after its own record.
IDLE_WAKE_S = 15


class RunWorker(SimpleWorker):
    """RQ's non-forking worker, with a short path for run jobs.

    Around each job RQ keeps its own records: started and finished registries, an execution
    record, the job's status and heartbeats, the worker's state. That is about 60 Redis
    commands and, for a trivial run, more CPU than the run itself. A run needs none of it:
    the database is the run's record, the heartbeat thread and the reaper catch a dead
    worker, and the sweeper queues again any `available` run without a job hash. So a run
    job is fetched (as RQ does), executed, and its hash deleted: five round trips in all.
    Other jobs (mail, bulk reruns) keep RQ's whole path, with retries and the failed
    registry.
    """

    def execute_job(self, job, queue) -> None:
        if job.func_name != EXECUTE_RUN:
            super().execute_job(job, queue)
            return
        from workers.jobs import execute_run

        # Busy, also for RQ's signal handler: a first SIGTERM then waits for the run to end
        # (warm shutdown) instead of interrupting it.
        self.set_state(WorkerStatus.BUSY)
        try:
            execute_run(*job.args)
        except Exception:
            # Ferry itself failed before the run was recorded (e.g. the database went away
            # during the claim): the run is still `available`, and once its hash is gone
            # below, the sweeper queues it again.
            log.exception("run job %s failed; the sweeper will queue the run again", job.id)
        finally:
            self._forget(job, queue)

    def _forget(self, job, queue) -> None:
        """Delete a run job's hash (and RQ's intermediate entry); a Redis outage here is
        logged, not raised: RQ would stop the worker over it, and the run is in the
        database either way."""
        pipe = self.connection.pipeline(transaction=False)
        forget_job(pipe, job.key, utcformat(job.enqueued_at) if job.enqueued_at else None)
        if len(self.queues) == 1:
            # RQ moves a job through an intermediate list when a worker listens on one
            # queue only (a priority-lane worker), and takes it out after the job.
            pipe.lrem(queue.intermediate_queue_key, 1, job.id)
        self.set_state(WorkerStatus.IDLE, pipeline=pipe)
        try:
            pipe.execute()
        except RedisError as error:
            log.warning("run job %s: could not clear its queue entry (%s)", job.id, error)

    @property
    def dequeue_timeout(self) -> int:
        # RQ waits up to 405 s for a job before it refreshes anything; waking every
        # IDLE_WAKE_S lets an idle worker notice soon that Redis lost its record (below).
        return IDLE_WAKE_S

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:
        last = self.last_heartbeat
        if pipeline is None and last and (now() - last).total_seconds() < WORKER_KEY_REFRESH_S:
            return
        if (
            pipeline is None
            and last
            and not self.connection.sismember(self.redis_workers_keys, self.key)
        ):
            # Redis restarted (or lost its data) under a live worker: RQ registers a worker
            # once, at birth, so without this it would stay missing from `ferry_workers`
            # and `rq info` until it restarts. The set of workers is what counts, not the
            # worker's own hash: a state written after the restart (the end of a job) makes
            # a hash with that one field, which RQ's birth would refuse as "already active".
            # One SISMEMBER per refresh is the whole cost.
            log.warning("Redis no longer knew worker %s; registering it again", self.name)
            self.connection.delete(self.key)
            self.register_birth()
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline=None) -> None:
        if pipeline is None and state == getattr(self, "_state", None):
            return  # unchanged: RQ would write it again before every job
        super().set_state(state, pipeline)


def queue_names(lane: str) -> tuple[str, ...]:
    """The queues a worker on `lane` listens on, most urgent first."""
    return (PRIORITY_RUN_QUEUE,) if lane == "priority" else QUEUE_NAMES


def run_worker(app: Flask, *, burst: bool = False, lane: str = "all") -> None:
    """Take jobs from Ferry's queues until stopped (or until empty with `burst`); on the
    `priority` lane only manual runs, retries and synchronous webhooks.

    The worker runs jobs in this process instead of forking one per job: job code already
    runs in the runtime sandbox, so a fork here would only add latency. When Redis goes
    away the worker waits and reconnects instead of exiting: runs accepted meanwhile stay
    `available` in the database and the sweeper queues them again.
    """
    from rq import Queue

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with app.app_context():
        # Start the sandbox server now, not on the first run: its imports and warm-up take
        # about a second, which the first run after a deploy would otherwise wait for.
        from workers.jobs import run_executor

        run_executor()
        freeze_startup_objects()
        connection = redis_client()
        while True:
            try:
                names = queue_names(lane)
                queues = [Queue(name, connection=connection) for name in names]
                worker = RunWorker(queues, connection=connection)
                log.info("worker listening on queues: %s", ", ".join(names))
                worker.work(burst=burst, logging_level="WARNING")
                return  # stopped by a signal, or the queues are empty in burst mode
            except (RedisConnectionError, RedisTimeoutError) as error:
                log.warning("Redis unreachable (%s); retrying in %.0f s", error, RECONNECT_EVERY_S)
                time.sleep(RECONNECT_EVERY_S)
