"""Automatic retries end to end: the engine stack's real workers and scheduler run steps
against a scripted HTTP server on loopback.

A failing step whose retry policy retries its failure parks the run (no worker waits) and
the scheduler queues it again when the retry is due; each attempt is a step run of its own.
Failures that would only fail again (a compile error, the job's own raise, a 404) are never
retried, and the last failed attempt is handled like any failure (failure edges, run failed).
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Project, Run, Step, StepRun, Workflow
from app.services.runs.retry_policy import normalise
from app.services.workflows.snapshots import take_snapshot
from tests.engine.conftest import wait_until
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.engine.test_runs_end_to_end import workflow_yaml

FAST = {"max_attempts": 3, "initial_delay_s": 0.2, "max_delay_s": 1, "jitter": 0}


class Remote:
    """A remote system on loopback: each path answers from its script (status, headers), the
    last entry again once the script is used up; every request's time is noted."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[tuple[int, dict]]] = {}
        self.seen: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with remote.lock:
                    seen = remote.seen.setdefault(self.path, [])
                    seen.append(time.monotonic())
                    script = remote.scripts.get(self.path, [(404, {})])
                    status, headers = script[min(len(seen), len(script)) - 1]
                body = b'{"ok": true}' if status < 400 else b'{"error": "not now"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def remote():
    server = Remote()
    yield server
    server.server.shutdown()


def retrying_workflow(stack, remote, name: str, jobs: dict, edges: list, policies: dict):
    """A saved workflow whose steps have the given retry policies (set on the rows, then a
    new version taken, as the builder would), in a project allowed to reach `remote`."""
    workflow = new_workflow(stack, workflow_yaml(name, jobs, edges))
    with stack.app.app_context():
        db.session.get(Project, workflow["project_id"]).egress_allowlist = [
            f"127.0.0.1:{remote.port}"
        ]
        row = db.session.get(Workflow, workflow["id"])
        for key, policy in policies.items():
            step = db.session.get(Step, uuid.UUID(workflow["steps"][key]))
            step.retry_policy = normalise(policy)
        row.lock_version += 1
        db.session.flush()
        take_snapshot(row, None)
        db.session.commit()
        db.session.remove()
    return workflow


def attempts(stack, work_order_id: str) -> list[tuple[str, int, str | None, bool]]:
    """(step name, attempt, exit reason, has a retry time) of each step run, in order."""
    with stack.app.app_context():
        rows = db.session.execute(
            select(StepRun.step_name, StepRun.attempt, StepRun.exit_reason, StepRun.retry_at)
            .join(Run, Run.id == StepRun.run_id)
            .where(Run.work_order_id == uuid.UUID(work_order_id))
            .order_by(StepRun.started_at)
        ).all()
        db.session.remove()
    return [(n, a, e.value if e else None, r is not None) for n, a, e, r in rows]


def the_run(stack, work_order_id: str) -> Run:
    with stack.app.app_context():
        run = db.session.scalar(select(Run).where(Run.work_order_id == uuid.UUID(work_order_id)))
        db.session.expunge(run)
        db.session.remove()
    return run


def get_step(remote, path: str) -> dict:
    return {"fetch": ("http@1", f'get("{remote.url(path)}")')}


HOOK = [("hook", "fetch", "always", None)]


def test_two_503s_with_retry_after_then_200_succeed_on_the_third_attempt(stack, remote):
    path = f"/flaky/{uuid.uuid4().hex}"
    remote.scripts[path] = [(503, {"Retry-After": "1"}), (503, {"Retry-After": "1"}), (200, {})]
    workflow = retrying_workflow(
        stack, remote, "Flaky", get_step(remote, path), HOOK, {"fetch": FAST}
    )
    accepted = post_webhook(stack, workflow["triggers"]["hook"], {"n": 1})
    work_order_id = accepted.json()["work_order_id"]
    result = wait_for_work_order(stack, work_order_id, seconds=40)
    assert result["state"] == "success"
    assert attempts(stack, work_order_id) == [
        ("fetch", 1, "failed", True),
        ("fetch", 2, "failed", True),
        ("fetch", 3, "success", False),
    ]
    times = remote.seen[path]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 3 and all(gap >= 1.0 for gap in gaps), gaps
    run = the_run(stack, work_order_id)
    assert run.state.value == "success" and len(result["runs"]) == 1
    # The run keeps the time it first started; its steps show the waits.
    assert run.started_at <= min(s.started_at for s in _step_rows(stack, run.id))


def _step_rows(stack, run_id):
    with stack.app.app_context():
        rows = db.session.scalars(select(StepRun).where(StepRun.run_id == run_id)).all()
        for row in rows:
            db.session.expunge(row)
        db.session.remove()
    return rows


def test_a_killed_worker_and_a_redis_restart_during_the_wait_lose_nothing(stack, remote):
    path = f"/outage/{uuid.uuid4().hex}"
    remote.scripts[path] = [(503, {"Retry-After": "4"}), (200, {})]
    workflow = retrying_workflow(
        stack, remote, "Outage", get_step(remote, path), HOOK, {"fetch": FAST}
    )
    work_order_id = post_webhook(stack, workflow["triggers"]["hook"], {}).json()["work_order_id"]

    def waiting():
        run = the_run(stack, work_order_id)
        return run if run.state.value == "available" and run.resume else None

    run = wait_until(waiting, "the run to wait for its retry", 20)
    pid = int(run.worker_name.rsplit(":", 1)[1])
    victim = next(w for w in stack.workers if w.pid == pid)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    stack.replace_worker(victim)
    stack.redis.stop()
    stack.redis.start()
    result = wait_for_work_order(stack, work_order_id, seconds=40)
    assert result["state"] == "success"
    assert [a[:3] for a in attempts(stack, work_order_id)] == [
        ("fetch", 1, "failed"),
        ("fetch", 2, "success"),
    ]
    assert remote.seen[path][1] - remote.seen[path][0] >= 4.0


@pytest.mark.parametrize(
    ("body", "ends"),
    [
        # Job code that cannot be compiled crashes the step (as without retries).
        pytest.param("fn(lambda state: state\n", "crashed", id="compile error"),
        pytest.param(
            'def fail(state):\n    raise ValueError("bad row")\n\nfn(fail)', "failed", id="raise"
        ),
    ],
)
def test_the_jobs_own_failures_are_never_retried(stack, remote, body, ends):
    jobs = {"fetch": ("common@1", body)}
    workflow = retrying_workflow(stack, remote, "Own failure", jobs, HOOK, {"fetch": FAST})
    work_order_id = post_webhook(stack, workflow["triggers"]["hook"], {}).json()["work_order_id"]
    result = wait_for_work_order(stack, work_order_id, seconds=30)
    assert result["state"] == ends
    assert attempts(stack, work_order_id) == [("fetch", 1, ends, False)]


def test_a_404_is_not_retried(stack, remote):
    path = f"/missing/{uuid.uuid4().hex}"
    remote.scripts[path] = [(404, {})]
    workflow = retrying_workflow(
        stack, remote, "Missing", get_step(remote, path), HOOK, {"fetch": FAST}
    )
    work_order_id = post_webhook(stack, workflow["triggers"]["hook"], {}).json()["work_order_id"]
    result = wait_for_work_order(stack, work_order_id, seconds=30)
    assert result["state"] == "failed"
    assert attempts(stack, work_order_id) == [("fetch", 1, "failed", False)]
    assert len(remote.seen[path]) == 1


def test_when_attempts_run_out_the_run_fails_and_failure_edges_are_followed_once(stack, remote):
    down = f"/down/{uuid.uuid4().hex}"
    remote.scripts[down] = [(502, {})]
    jobs = {
        **get_step(remote, down),
        "tell": ("common@1", 'log("giving up on the remote")\nfn(lambda state: state)'),
    }
    edges = [*HOOK, ("fetch", "tell", "on_job_failure", None)]
    policy = {"max_attempts": 2, "initial_delay_s": 0.2, "max_delay_s": 0.2, "jitter": 0}
    handled = retrying_workflow(stack, remote, "Handled", jobs, edges, {"fetch": policy})
    alone = retrying_workflow(
        stack, remote, "Unhandled", get_step(remote, down), HOOK, {"fetch": policy}
    )
    first = post_webhook(stack, handled["triggers"]["hook"], {}).json()["work_order_id"]
    second = post_webhook(stack, alone["triggers"]["hook"], {}).json()["work_order_id"]

    handled_result = wait_for_work_order(stack, first, seconds=30)
    assert attempts(stack, first) == [
        ("fetch", 1, "failed", True),
        ("fetch", 2, "failed", False),
        ("tell", 1, "success", False),
    ]
    # The failure edge took the last attempt further: the run ends as its handler did.
    assert handled_result["state"] == "success"

    alone_result = wait_for_work_order(stack, second, seconds=30)
    assert alone_result["state"] == "failed"
    assert [a[:3] for a in attempts(stack, second)] == [
        ("fetch", 1, "failed"),
        ("fetch", 2, "failed"),
    ]
    run = the_run(stack, second)
    assert run.error_type and "502" in (run.error_message or "")


def test_a_resumed_run_continues_its_queue_and_keeps_the_branches_already_ended(stack, remote):
    flaky = f"/branch/{uuid.uuid4().hex}"
    remote.scripts[flaky] = [(503, {"Retry-After": "1"}), (200, {})]
    jobs = {
        "audit": ("common@1", 'log("audited")\nfn(lambda state: state)'),
        **get_step(remote, flaky),
        "after": ("common@1", 'fn(lambda state: {**state, "done": True})'),
        "sibling": ("common@1", "fn(lambda state: state)"),
    }
    # The trigger fans out to three branches; when fetch fails, the others have either ended
    # (leaves kept in the resume point) or are still queued (run after the wait).
    edges = [
        ("hook", "audit", "always", None),
        ("hook", "fetch", "always", None),
        ("hook", "sibling", "always", None),
        ("fetch", "after", "on_job_success", None),
    ]
    workflow = retrying_workflow(stack, remote, "Fan out", jobs, edges, {"fetch": FAST})
    work_order_id = post_webhook(stack, workflow["triggers"]["hook"], {"n": 7}).json()[
        "work_order_id"
    ]
    result = wait_for_work_order(stack, work_order_id, seconds=30)
    assert result["state"] == "success"
    ran = [(name, attempt, ended) for name, attempt, ended, _ in attempts(stack, work_order_id)]
    assert sorted(ran) == [
        ("after", 1, "success"),
        ("audit", 1, "success"),
        ("fetch", 1, "failed"),
        ("fetch", 2, "success"),
        ("sibling", 1, "success"),
    ], "each branch ran once, and fetch twice"
    assert ran.index(("fetch", 2, "success")) < ran.index(("after", 1, "success"))
    after = next(step for step in result["steps"] if step["name"] == "after")
    assert after["output"]["done"] is True and after["input"]["data"] == {"ok": True}
    sibling = next(step for step in result["steps"] if step["name"] == "sibling")
    assert sibling["input"] == {"n": 7}, "the queued step names the webhook's body"
    assert sibling["output"]["data"] == {"n": 7}, "and got the state made from it back"
