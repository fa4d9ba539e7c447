"""SIGTERM makes a worker finish its run and stop taking new ones; a second SIGTERM stops
it at once and its run is recorded as lost (never left `started`)."""

from __future__ import annotations

import signal
import time

from tests.engine.conftest import wait_until
from tests.engine.helpers import (
    new_workflow,
    post_webhook,
    read_work_order,
    wait_for_work_order,
    worker_pid_of,
)
from tests.engine.test_runs_end_to_end import workflow_yaml

EDGES = [("hook", "step", "always", None)]


def sleeping(seconds: float) -> dict:
    body = f"import time\nfn(lambda state: (time.sleep({seconds}), state)[1])"
    return {"step": ("common@1", body)}


def started_on(stack, work_order_id: str):
    """The worker process running the work order's first run, once it has started."""
    if read_work_order(stack, work_order_id)["runs"][0]["state"] != "started":
        return None
    pid = worker_pid_of(stack, work_order_id)
    return next(w for w in stack.workers if w.pid == pid)


def test_first_sigterm_finishes_the_run_then_the_worker_stops(stack):
    workflow = new_workflow(stack, workflow_yaml("Warm stop", sleeping(3), EDGES))
    first = post_webhook(stack, workflow["triggers"]["hook"], {}).json()["work_order_id"]
    worker = wait_until(lambda: started_on(stack, first), "the run to start", 20)
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    quick = new_workflow(stack, workflow_yaml("After the stop", sleeping(0), EDGES))
    second = post_webhook(stack, quick["triggers"]["hook"], {}).json()["work_order_id"]

    assert wait_for_work_order(stack, first)["runs"][0]["state"] == "success"
    assert worker.wait(timeout=20) == 0, "the worker did not stop after its run"
    assert wait_for_work_order(stack, second)["state"] == "success"
    assert worker_pid_of(stack, second) != worker.pid, "a stopping worker took a new run"
    stack.replace_worker(worker)


def test_second_sigterm_stops_now_and_the_run_is_lost(stack):
    workflow = new_workflow(stack, workflow_yaml("Cold stop", sleeping(30), EDGES))
    work_order_id = post_webhook(stack, workflow["triggers"]["hook"], {}).json()["work_order_id"]
    worker = wait_until(lambda: started_on(stack, work_order_id), "the run to start", 20)
    worker.send_signal(signal.SIGTERM)
    time.sleep(1.5)  # RQ ignores a second signal within a second (a pool may send two)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=15)
    stack.replace_worker(worker)
    result = wait_for_work_order(stack, work_order_id, seconds=20)
    assert result["runs"][0]["state"] == "lost"
    assert "stopped" in (result["runs"][0].get("error_message") or "").lower()
