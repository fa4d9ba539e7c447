"""The RQ worker process."""

from __future__ import annotations

import logging

from flask import Flask

from app.extensions import QUEUE_NAMES, redis_client

log = logging.getLogger("ferry.worker")


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Take jobs from Ferry's queues until stopped (or until empty with `burst`).

    SimpleWorker runs jobs in this process instead of forking one per job: job code
    already runs in the runtime sandbox, so a fork here would only add latency.
    """
    from rq import Queue, SimpleWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with app.app_context():
        connection = redis_client()
        queues = [Queue(name, connection=connection) for name in QUEUE_NAMES]
        worker = SimpleWorker(queues, connection=connection)
        log.info("worker listening on queues: %s", ", ".join(QUEUE_NAMES))
        worker.work(burst=burst, logging_level="WARNING")
