"""The RQ worker process."""

from __future__ import annotations

import logging
import time

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.extensions import QUEUE_NAMES, redis_client

log = logging.getLogger("ferry.worker")
RECONNECT_EVERY_S = 2.0


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Take jobs from Ferry's queues until stopped (or until empty with `burst`).

    SimpleWorker runs jobs in this process instead of forking one per job: job code
    already runs in the runtime sandbox, so a fork here would only add latency. When Redis
    goes away the worker waits and reconnects instead of exiting: runs accepted meanwhile
    stay `available` in the database and the sweeper queues them again.
    """
    from rq import Queue, SimpleWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with app.app_context():
        connection = redis_client()
        while True:
            try:
                queues = [Queue(name, connection=connection) for name in QUEUE_NAMES]
                worker = SimpleWorker(queues, connection=connection)
                log.info("worker listening on queues: %s", ", ".join(QUEUE_NAMES))
                worker.work(burst=burst, logging_level="WARNING")
                return  # stopped by a signal, or the queues are empty in burst mode
            except (RedisConnectionError, RedisTimeoutError) as error:
                log.warning("Redis unreachable (%s); retrying in %.0f s", error, RECONNECT_EVERY_S)
                time.sleep(RECONNECT_EVERY_S)
