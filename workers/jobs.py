"""RQ job functions. They take ids, call the executor or a service, and nothing else."""

from __future__ import annotations

import atexit
import os
import socket
import uuid

from app.extensions import db

_executor = None


def run_executor():
    """This process's executor and its sandboxes, made once (the worker makes them at
    start-up, so the first run does not wait for a sandbox server)."""
    global _executor
    if _executor is None:
        from workers.executor import RunExecutor
        from workers.runtime.sandboxes import AdaptorSandboxes

        sandbox = AdaptorSandboxes()
        atexit.register(sandbox.close)
        _executor = RunExecutor(sandbox, f"{socket.gethostname()}:{os.getpid()}")
    return _executor


def execute_run(run_id: str) -> None:
    """Execute one run (the worker-side end of `app.services.runs.queue.enqueue_run`)."""
    try:
        run_executor().execute(uuid.UUID(run_id))
    finally:
        db.session.remove()


def bulk_rerun(bulk_rerun_id: str) -> None:
    """Rerun a bulk rerun's work orders in batches, moving its row's progress (queued by
    `app.services.runs.bulk_reruns.create`, and again by `resume`)."""
    from app.services.runs import bulk_reruns

    try:
        bulk_reruns.run_batches(uuid.UUID(bulk_rerun_id))
    finally:
        db.session.remove()
