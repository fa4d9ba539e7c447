"""A project's run limits through the whole stack (gunicorn, RQ worker processes, the
fork-server sandbox): its run time limit and memory per step stop runs with messages that
name the limit, its payload limit refuses a larger webhook body (413, nothing stored), and
its runs keep no log output but one note."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import WorkOrder
from app.services import project_limits
from app.services.workflows import store
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.engine.test_runs_end_to_end import workflow_yaml

SPIN = """
log("starting for", S.data["name"])

def spin(state):
    while True:
        pass

fn(spin)
"""
GREEDY = 'fn(lambda state: {**state, "data": len("x" * (200 * 1024 * 1024))})'


def test_a_limited_project_through_real_workers(stack):
    slow = new_workflow(stack, workflow_yaml("Slow", {"work": ("common@1", SPIN)},
                                             [("hook", "work", "always", None)]))  # fmt: skip
    project_id = slow["project_id"]
    with stack.app.app_context():
        values = {"run_timeout_s": "1", "step_memory_mb": "64", "max_payload_kb": "1"}
        project_limits.update_limits(None, project_id, values, True)
        greedy = store.create_workflow(
            project_id,
            workflow_yaml("Greedy", {"work": ("common@1", GREEDY)},
                          [("hook", "work", "always", None)]),
        )  # fmt: skip
        greedy_trigger = str(greedy.triggers[0].id)
        db.session.remove()

    slow_reply = post_webhook(stack, slow["triggers"]["hook"], {"name": "Jane Roe"})
    greedy_reply = post_webhook(stack, greedy_trigger, {})
    assert slow_reply.status_code == greedy_reply.status_code == 200

    timed_out = wait_for_work_order(stack, slow_reply.json()["work_order_id"])
    run = timed_out["runs"][0]
    assert run["state"] == "killed"
    assert "The run took longer than its time limit of 1 s" in run["error_message"]
    assert (run["finished_at"] - run["started_at"]).total_seconds() < 10
    # No log output kept: not even the job's own line naming the patient.
    assert timed_out["logs"] == [("runtime", "info", project_limits.NOT_KEPT)]

    out_of_memory = wait_for_work_order(stack, greedy_reply.json()["work_order_id"])
    assert out_of_memory["runs"][0]["state"] == "killed"
    assert "more than 64 MB of memory" in out_of_memory["steps"][0]["error_message"]

    with stack.app.app_context():
        before = db.session.scalar(select(func.count()).select_from(WorkOrder))
        db.session.remove()
    too_big = post_webhook(stack, slow["triggers"]["hook"], {"note": "x" * 2000})
    assert too_big.status_code == 413
    assert too_big.json()["error"] == (
        "The body is 2 KB; this project accepts at most 1 KB. Nothing was saved."
    )
    with stack.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == before
        db.session.remove()
