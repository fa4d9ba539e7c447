"""RunWorker: a run job takes the short path (execute, then delete its hash) on real Redis;
other jobs keep RQ's whole path. The executor itself is replaced here by a recorder (and by
a function that raises, standing in for "Ferry failed"); the end-to-end tests run the real
one in real worker processes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.job import Job

from app.extensions import DEFAULT_QUEUE, RUN_QUEUE
from app.services.runs import queue as run_queue
from workers import jobs
from workers.worker import RunWorker


def double(number: int) -> int:
    """An ordinary (non-run) job."""
    return number * 2


@pytest.fixture
def redis(app, settings):
    connection = Redis.from_url(settings.redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()


def work(redis: Redis, *queue_names: str) -> None:
    queues = [Queue(name, connection=redis) for name in queue_names]
    RunWorker(queues, connection=redis).work(burst=True)


def queue_and_work(app, redis: Redis, count: int) -> list[uuid.UUID]:
    """Queue `count` runs (ids only: the executor is replaced), then work them off."""
    run_ids = [uuid.uuid4() for _ in range(count)]
    with app.app_context():
        for run_id in run_ids:
            assert run_queue.enqueue_run(run_id)
        work(redis, RUN_QUEUE)
    return run_ids


def test_a_run_job_runs_then_leaves_nothing_behind(app, redis, monkeypatch):
    executed: list[str] = []
    monkeypatch.setattr(jobs, "execute_run", executed.append)
    run_ids = queue_and_work(app, redis, 2)
    assert executed == [str(run_id) for run_id in run_ids]
    assert not any(redis.exists(run_queue.job_key(run_id)) for run_id in run_ids)
    assert redis.llen(f"rq:queue:{RUN_QUEUE}") == 0
    assert redis.llen(f"rq:queue:{RUN_QUEUE}:intermediate") == 0
    # RQ's own records for finished jobs are not kept for runs: the database has them.
    assert not redis.keys("rq:finished:*") and not redis.keys("rq:execution*")


def test_a_run_job_that_fails_inside_ferry_leaves_no_hash_so_the_sweeper_requeues_it(
    app, redis, monkeypatch
):
    attempts: list[str] = []

    def database_went_away(run_id: str) -> None:
        attempts.append(run_id)
        raise RuntimeError("the database went away during the claim")

    monkeypatch.setattr(jobs, "execute_run", database_went_away)
    first, second = queue_and_work(app, redis, 2)
    assert attempts == [str(first), str(second)], "the worker must carry on after a failure"
    # The sweeper queues an `available` run again exactly when its job hash is missing.
    assert not redis.exists(run_queue.job_key(first))
    assert not redis.exists(run_queue.job_key(second))


def test_a_run_queued_again_while_a_worker_holds_its_job_is_run_again(app, redis, monkeypatch):
    # A capped run's end queues the runs it held back; one of them may be between a refused
    # claim and its cleanup in another worker. That cleanup must leave the new entry's hash,
    # or the run waits for the sweeper.
    executed: list[str] = []
    run_id = uuid.uuid4()

    def execute(run: str) -> None:
        executed.append(run)
        if len(executed) == 1:
            assert run_queue.enqueue_run(run)

    monkeypatch.setattr(jobs, "execute_run", execute)
    with app.app_context():
        assert run_queue.enqueue_run(run_id)
        work(redis, RUN_QUEUE)
    assert executed == [str(run_id)] * 2
    assert not redis.exists(run_queue.job_key(run_id))


def test_other_jobs_keep_rqs_whole_path(app, redis):
    job = Queue(DEFAULT_QUEUE, connection=redis).enqueue(double, 21)
    work(redis, DEFAULT_QUEUE)
    finished = Job.fetch(job.id, connection=redis)
    assert finished.get_status() == "finished" and finished.return_value() == 42


def test_redis_going_away_after_a_run_does_not_stop_the_worker(app, redis, monkeypatch):
    """The hash cannot be deleted (Redis refuses the pipeline): the worker logs it and
    takes the next job instead of quitting, as RQ's loop would on an unhandled error."""
    executed: list[str] = []
    monkeypatch.setattr(jobs, "execute_run", executed.append)
    refusals = iter([RedisConnectionError("Redis went away"), None])

    real_execute = Pipeline.execute

    def flaky_execute(self, *args, **kwargs):
        deletes_a_run_job = any(
            args[0] == "DEL" and str(args[1]).startswith("rq:job:run-")
            for args, _options in self.command_stack
        )
        if deletes_a_run_job:
            error = next(refusals, None)
            if error is not None:
                raise error
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", flaky_execute)
    first, second = queue_and_work(app, redis, 2)
    assert executed == [str(first), str(second)]
    assert not redis.exists(run_queue.job_key(second))


def test_a_worker_whose_record_redis_lost_registers_again_at_its_next_refresh(redis):
    """After a Redis restart a live worker is missing from `rq:workers` (RQ registers at
    birth only); its next refresh puts it back, so `ferry_workers` counts it again."""
    from rq import Worker
    from rq.utils import now

    from workers.worker import IDLE_WAKE_S, WORKER_KEY_REFRESH_S

    worker = RunWorker([Queue(RUN_QUEUE, connection=redis)], connection=redis)
    worker.register_birth()
    assert [w.name for w in Worker.all(connection=redis)] == [worker.name]
    assert worker.dequeue_timeout == IDLE_WAKE_S  # an idle worker wakes to look
    redis.flushdb()  # what a restart without persistence leaves
    assert Worker.all(connection=redis) == []
    worker.heartbeat()  # within the refresh interval: nothing is sent, nothing re-made
    assert Worker.all(connection=redis) == []
    worker.last_heartbeat = now() - timedelta(seconds=WORKER_KEY_REFRESH_S + 1)
    worker.heartbeat()
    assert [w.name for w in Worker.all(connection=redis)] == [worker.name]
    assert [w.name for w in Worker.all(queue=Queue(RUN_QUEUE, connection=redis))] == [worker.name]
    # A restart while the worker was busy: the end of its job wrote its state, which makes a
    # hash holding only that field; it is still missing from the set of workers.
    redis.flushdb()
    worker.set_state("idle", pipeline=redis)
    assert redis.exists(worker.key)
    worker.last_heartbeat = now() - timedelta(seconds=WORKER_KEY_REFRESH_S + 1)
    worker.heartbeat()
    assert [w.name for w in Worker.all(connection=redis)] == [worker.name]
    assert redis.hget(worker.key, "birth")
    worker.register_death()
