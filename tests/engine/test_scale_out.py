"""Scale-out: two `ferry web` processes and four `ferry worker` processes against one
PostgreSQL database and one Redis, and every accepted webhook is run exactly once.

The engine tests' shared stack (one web process, two workers, the scheduler) gets a second
web process and two more workers for this module, so only three processes boot here. Nothing
is mocked. To see every claim, not only the last one, the test database gets a trigger (while
this module runs) that copies each change of a run's state or owner into a side table: that
is instrumentation of the test database, not part of Ferry's schema, and the processes under
test do not know it is there.
"""

from __future__ import annotations

import collections
import itertools
import signal
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import text

from app.extensions import db
from tests.engine.conftest import free_port, wait_until
from tests.engine.helpers import FINAL, new_workflow
from tests.engine.test_runs_end_to_end import workflow_yaml

WEB_PROCESSES, WORKER_PROCESSES = 2, 4
PLAIN, PAIRS, FAILING, TWO_STEP = 300, 20, 30, 30  # 400 requests, 380 work orders
SENDER_THREADS = 6

ADD_ONE = {
    "add": ("common@1", 'fn(lambda state: {**state, "data": {"n": state["data"]["n"] + 1}})')
}
FAIL = {"check": ("common@1", 'assert_(False, "clinic id missing")')}
TWO_STEPS = {
    "double": ("common@1", 'fn(lambda state: {**state, "data": {"n": state["data"]["n"] * 2}})'),
    "label": ("common@1", 'fn(lambda state: {**state, "data": {**state["data"], "label": "ok"}})'),
}

# Every change of a run's state or owner, in commit order, in a table the test reads back.
TRANSITIONS = """
CREATE TABLE test_run_transitions (
    id bigserial PRIMARY KEY, run_id uuid NOT NULL, old_state text, new_state text NOT NULL,
    worker_name text
);
CREATE FUNCTION test_note_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = NEW.state
            AND OLD.worker_name IS NOT DISTINCT FROM NEW.worker_name THEN
        RETURN NULL;
    END IF;
    INSERT INTO test_run_transitions (run_id, old_state, new_state, worker_name)
    VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.state::text END, NEW.state::text,
            NEW.worker_name);
    RETURN NULL;
END $$;
CREATE TRIGGER test_note_transition AFTER INSERT OR UPDATE OF state, worker_name ON runs
    FOR EACH ROW EXECUTE FUNCTION test_note_transition();
"""
UNDO_TRANSITIONS = """
DROP TRIGGER test_note_transition ON runs;
DROP FUNCTION test_note_transition();
DROP TABLE test_run_transitions;
"""


class ScaleOut:
    """The engine tests' stack (one web process, two workers, the scheduler) with a second
    web process and two more workers beside it: two `ferry web`, four `ferry worker`, one
    scheduler. Only the added processes are started (in parallel) and stopped here."""

    def __init__(self, stack) -> None:
        self.stack, self.app = stack, stack.app
        self.port = free_port()
        self.web_urls = [stack.base_url, f"http://127.0.0.1:{self.port}"]
        self.added: list[subprocess.Popen] = []

    def start(self) -> None:
        # One gunicorn worker with a few threads: a second web process is the point, and a
        # small pool keeps the shared PostgreSQL's connections for other test sessions.
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        sizes = ["--workers", "1", "--threads", "8", "--no-access-log"]
        self.added.append(self.stack._spawn("web-scale", "web", *address, *sizes))
        # Earlier tests may have stopped one of the stack's own workers: top up to four.
        missing = WORKER_PROCESSES - len(self._stack_workers())
        self.added += [self.stack._spawn(f"worker-scale{i}", "worker") for i in range(missing)]
        wait_until(lambda: _answers(self.web_urls[1]), "the second web process", 150)
        # A worker registers once its sandbox server is warm. In the full suite a stack worker
        # that lost its record (a Redis restart by another test) re-registers only when idle,
        # so the test starts once two can take runs: all four processes are running, and the
        # checks below hold whichever of them take the runs.
        redis = Redis.from_url(self.stack.redis.url)
        wait_until(lambda: len(Worker.all(connection=redis)) >= 2, "2 workers to register", 150)

    def worker_pids(self) -> set[int]:
        return {process.pid for process in self._stack_workers() + self.added[1:]}

    def _stack_workers(self) -> list[subprocess.Popen]:
        return [process for process in self.stack.workers if process.poll() is None]

    def stop(self) -> None:
        for process in self.added:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.added:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _sql(app, statement: str) -> None:
    with app.app_context():
        db.session.execute(text(statement))
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="module")
def scaled(stack):
    """The scaled-out stack, with every run's transitions noted while this module runs."""
    _sql(stack.app, TRANSITIONS)
    running = ScaleOut(stack)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        _sql(stack.app, UNDO_TRANSITIONS)


def _send(scaled, plan):
    """POST every (web index, trigger, body, key) in `plan` from several threads, one
    keep-alive client per thread; returns [(plan item, status, json)]."""
    local = threading.local()

    def post(item):
        web, trigger, body, key = item
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        headers = {"Idempotency-Key": key} if key else {}
        response = local.client.post(
            f"{scaled.web_urls[web]}/i/{trigger}", json=body, headers=headers
        )
        return item, response.status_code, response.json()

    with ThreadPoolExecutor(SENDER_THREADS) as pool:
        return list(pool.map(post, plan))


def _send_pairs(scaled, trigger, keys):
    """Each key to both web processes at the same moment (a barrier per key), from two
    threads of their own; returns {key: [json from web 0, json from web 1]}."""
    barrier = threading.Barrier(WEB_PROCESSES)
    replies = collections.defaultdict(lambda: [None] * WEB_PROCESSES)

    def sender(web):
        with httpx.Client(timeout=60) as client:
            for key, n in keys:
                barrier.wait(timeout=60)
                response = client.post(
                    f"{scaled.web_urls[web]}/i/{trigger}",
                    json={"n": n},
                    headers={"Idempotency-Key": key},
                )
                assert response.status_code == 200, response.text
                replies[key][web] = response.json()

    threads = [threading.Thread(target=sender, args=(web,)) for web in range(WEB_PROCESSES)]
    for thread in threads:
        thread.start()
    return threads, replies


def _read_back(scaled, workflow_ids):
    """Work orders, runs (with final output), step runs and transitions of the workflows."""
    params = {"workflows": [uuid.UUID(str(w)) for w in workflow_ids]}
    with scaled.app.app_context():
        rows = db.session.execute
        orders = rows(
            text(
                "SELECT w.id, w.idempotency_key, count(r.id) FROM work_orders w "
                "LEFT JOIN runs r ON r.work_order_id = w.id "
                "WHERE w.workflow_id = ANY(:workflows) GROUP BY w.id"
            ),
            params,
        ).all()
        runs = rows(
            text(
                "SELECT r.id, r.work_order_id, r.state::text, r.worker_name, r.claimed_at, "
                "r.error_message, d.body FROM runs r "
                "LEFT JOIN dataclips d ON d.id = r.final_dataclip_id "
                "WHERE r.workflow_id = ANY(:workflows)"
            ),
            params,
        ).all()
        steps = rows(
            text(
                "SELECT s.run_id, s.step_name, s.exit_reason::text FROM step_runs s "
                "JOIN runs r ON r.id = s.run_id WHERE r.workflow_id = ANY(:workflows)"
            ),
            params,
        ).all()
        transitions = rows(
            text(
                "SELECT t.run_id, t.old_state, t.new_state, t.worker_name "
                "FROM test_run_transitions t JOIN runs r ON r.id = t.run_id "
                "WHERE r.workflow_id = ANY(:workflows) ORDER BY t.id"
            ),
            params,
        ).all()
        db.session.remove()
    return orders, runs, steps, transitions


def _finished(scaled, workflow_ids, expected: int) -> bool:
    with scaled.app.app_context():
        done = db.session.scalar(
            text(
                "SELECT count(*) FROM runs WHERE workflow_id = ANY(:workflows) "
                "AND state::text = ANY(:final)"
            ),
            {"workflows": list(workflow_ids), "final": sorted(FINAL)},
        )
        db.session.remove()
    return done == expected


def test_two_web_and_four_workers_run_every_accepted_webhook_exactly_once(scaled):
    add = new_workflow(scaled, workflow_yaml("Add one", ADD_ONE, [("hook", "add", "always", None)]))
    fail = new_workflow(scaled, workflow_yaml("Fails", FAIL, [("hook", "check", "always", None)]))
    two = new_workflow(
        scaled,
        workflow_yaml(
            "Two steps",
            TWO_STEPS,
            [("hook", "double", "always", None), ("double", "label", "on_job_success", None)],
        ),
    )
    numbers = itertools.count(1)
    kinds = [(add, PLAIN), (fail, FAILING), (two, TWO_STEP)]
    plan = [
        (index % WEB_PROCESSES, workflow["triggers"]["hook"], {"n": next(numbers)}, None)
        for workflow, count in kinds
        for index in range(count)
    ]
    # Interleave the kinds so both web processes and all workers see each kind throughout.
    plan = [plan[i] for i in sorted(range(len(plan)), key=lambda i: (i * 7919) % len(plan))]
    keys = [(f"order-{uuid.uuid4().hex[:8]}", next(numbers)) for _ in range(PAIRS)]
    pair_threads, pair_replies = _send_pairs(scaled, add["triggers"]["hook"], keys)
    sent = _send(scaled, plan)
    for thread in pair_threads:
        thread.join(timeout=60)

    assert [status for _, status, _ in sent] == [200] * len(plan)
    kind_of = {
        add["triggers"]["hook"]: "add",
        fail["triggers"]["hook"]: "fail",
        two["triggers"]["hook"]: "two",
    }
    expected = {reply["work_order_id"]: (kind_of[item[1]], item[2]["n"]) for item, _, reply in sent}
    for key, n in keys:
        first, second = pair_replies[key]
        assert first == second, f"key {key} gave two work orders: {first} / {second}"
        expected[first["work_order_id"]] = ("add", n)
    assert len(expected) == PLAIN + FAILING + TWO_STEP + PAIRS, "a work order id came back twice"

    workflow_ids = [add["id"], fail["id"], two["id"]]
    wait_until(
        lambda: _finished(scaled, workflow_ids, len(expected)), "every run to finish", 90, 0.25
    )
    # A key sent again after its run finished still names the same work order.
    for web in range(WEB_PROCESSES):
        key, n = keys[web]
        again = httpx.post(
            f"{scaled.web_urls[web]}/i/{add['triggers']['hook']}",
            json={"n": n},
            headers={"Idempotency-Key": key},
            timeout=30,
        ).json()
        assert again == pair_replies[key][0]

    orders, runs, steps, transitions = _read_back(scaled, workflow_ids)

    # Every accepted work order, and nothing else, with exactly one run.
    assert {str(order_id) for order_id, _, _ in orders} == set(expected)
    assert [count for *_, count in orders if count != 1] == []
    by_key = collections.Counter(key for _, key, _ in orders if key)
    assert by_key == {key: 1 for key, _ in keys}

    # Each run claimed once: created available, started by one worker, finished by it.
    history = collections.defaultdict(list)
    for run_id, old, new, worker in transitions:
        history[run_id].append((old, new, worker))
    worker_pids = scaled.worker_pids()
    per_worker = collections.Counter()
    for run_id, _, state, worker, claimed_at, _, _ in runs:
        assert state in FINAL, f"run {run_id} is still {state}"
        assert worker is not None and claimed_at is not None
        assert history[run_id] == [
            (None, "available", None),
            ("available", "started", worker),
            ("started", state, worker),
        ], f"run {run_id} changed hands or state out of order: {history[run_id]}"
        pid = int(worker.rsplit(":", 1)[1])
        assert pid in worker_pids, f"run {run_id} claimed by {worker}, not one of our workers"
        per_worker[pid] += 1
    assert len(per_worker) > 1, f"one worker did everything: {per_worker}"

    # Each step ran once, and each run's output is right for its kind and body.
    steps_of = collections.defaultdict(list)
    for run_id, name, exit_reason in steps:
        steps_of[run_id].append((name, exit_reason))
    for run_id, order_id, state, _, _, error, output in runs:
        kind, n = expected[str(order_id)]
        ran = sorted(steps_of[run_id])
        if kind == "add":
            assert (state, ran, output["data"]) == ("success", [("add", "success")], {"n": n + 1})
        elif kind == "two":
            assert ran == [("double", "success"), ("label", "success")], ran
            assert (state, output["data"]) == ("success", {"n": 2 * n, "label": "ok"})
        else:
            assert (state, ran) == ("failed", [("check", "failed")])
            assert "clinic id missing" in error
