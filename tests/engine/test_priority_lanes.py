"""Priority lanes: a person in the studio never waits behind a bulk rerun.

`ferry worker --processes 3` with FERRY_PRIORITY_SLOTS=1 runs on a database and Redis of this
module's own (no scheduler, so no sweeper hands these runs to the shared stack's workers).
A bulk rerun of 2,000 work orders is queued through the bulk rerun service, its job run by
the pool; each of its runs calls a slow source system (about half a second). Then a manual
run is started through the studio's Run endpoint, and must start within one run's time of
being queued; a synchronous webhook goes ahead too, a plain webhook waits in the batch lane.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from app import create_app
from app.config import ConfigError, Settings
from app.extensions import PRIORITY_RUN_QUEUE, RUN_QUEUE, db, redis_client
from app.models import BulkRerun, BulkRerunState, Run, RunState, WorkflowSnapshot, WorkOrder
from app.services import accounts, projects
from app.services.runs import bulk_reruns, queue
from app.services.workflows import store
from tests.engine.conftest import LOGS, RedisServer, wait_until
from tests.support import (
    RequestScopedClient,
    csrf_token_from,
    database_url,
    log_in,
    recreate_database,
    worker_index,
)
from workers.cli import main
from workers.worker_pool import lanes

RUN_TIME_S = 0.5
BULK = 2000
SERVICE_PART = 20
PASSWORD = "correct horse battery staple"

LANES_DOC = """
name: Facility registry sync
triggers:
  hook:
    type: webhook
  ask:
    type: webhook
    webhook_reply: after_completion
jobs:
  pull:
    name: Pull facilities
    adaptor: http@1
    body: |
      get("{source}/facilities")
edges:
  hook->pull:
    source_trigger: hook
    target_job: pull
  ask->pull:
    source_trigger: ask
    target_job: pull
"""


class SlowHandler(BaseHTTPRequestHandler):
    """A source system that takes RUN_TIME_S to answer."""

    def do_GET(self):
        time.sleep(RUN_TIME_S)
        body = b'{"facilities": []}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pool():
    """Its own database and Redis, a slow source, and a pool of three worker processes of
    which one is kept for the priority lane."""
    url = database_url("lanes")
    recreate_database(url)
    redis = RedisServer()
    redis.start()
    source = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=source.serve_forever, daemon=True).start()
    app = create_app(Settings(env="test", database_url=url, redis_url=redis.url))
    app.test_client_class = RequestScopedClient
    from workers.cli_support import upgrade_database

    upgrade_database(app)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"lanes-pool-{worker_index()}.log", "a")  # noqa: SIM115
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis.url,
        "FERRY_PRIORITY_SLOTS": "1",
        "FERRY_HEARTBEAT_S": "1",
        "FERRY_LOST_AFTER_S": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", "worker", "--processes", "3"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with app.app_context():
            wait_until(lambda: redis_client().scard("rq:workers") == 3, "three workers", 60)
            yield SimpleNamespace(app=app, redis=redis, source=source, process=process)
            db.session.remove()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        source.shutdown()
        redis.stop()
        with app.app_context():
            db.engine.dispose()


def a_workflow_with_2000_failed_work_orders(source_port: int) -> SimpleNamespace:
    """A user, their project (the source allowed) and workflow, and 2,000 failed work
    orders inserted in one statement."""
    email = f"lanes-{uuid.uuid4().hex[:6]}@example.org"
    user = accounts.create_user(email, PASSWORD)
    project = projects.create_project(user, "Registry")
    project.egress_allowlist = [f"127.0.0.1:{source_port}"]
    db.session.commit()
    source = f"http://127.0.0.1:{source_port}"
    workflow = store.create_workflow(project.id, LANES_DOC.format(source=source))
    triggers = {t.key: t.id for t in workflow.triggers}
    snapshot_id = db.session.scalar(
        select(WorkflowSnapshot.id).where(WorkflowSnapshot.workflow_id == workflow.id)
    )
    db.session.execute(
        text(
            """WITH w AS (
                 INSERT INTO work_orders (id, project_id, workflow_id, trigger_id, snapshot_id,
                   state) SELECT gen_random_uuid(), :p, :w, :t, :s, 'failed'
                 FROM generate_series(1, :n) RETURNING id)
               INSERT INTO runs (id, work_order_id, project_id, workflow_id, snapshot_id,
                 starting_trigger_id, state, priority, finished_at)
               SELECT gen_random_uuid(), w.id, :p, :w, :s, :t, 'failed', 1, now() FROM w"""
        ),
        {"p": project.id, "w": workflow.id, "t": triggers["hook"], "s": snapshot_id, "n": BULK},
    )
    db.session.commit()
    return SimpleNamespace(
        email=email, project_id=project.id, workflow_id=workflow.id, triggers=triggers
    )


def queued(name: str) -> int:
    return redis_client().llen(f"rq:queue:{name}")


def started_within(run_id, since: float) -> float:
    """Seconds from `since` (a time.time()) to the run's start, once it started."""

    def started():
        db.session.expire_all()
        run = db.session.get(Run, run_id)
        db.session.commit()
        return run.started_at

    return wait_until(started, "the run to start", 30, every=0.02).timestamp() - since


def queue_a_bulk_rerun(world) -> None:
    """Rerun the 2,000 work orders: the first SERVICE_PART through the bulk rerun service
    (its job runs in the pool), the rest as the same rows inserted in one statement and
    queued as the service queues them; a worker takes 30 ms or more per rerun on a busy
    two-core machine, and a minute of queueing would say nothing more."""
    first = (
        select(WorkOrder.id)
        .where(WorkOrder.workflow_id == world.workflow_id)
        .order_by(WorkOrder.id)
        .limit(SERVICE_PART)
    )
    bulk = bulk_reruns.create(world.project_id, actor_id=None, chosen=first, step_key=None)
    assert bulk.total == SERVICE_PART

    def bulk_done():
        db.session.expire_all()
        done = db.session.get(BulkRerun, bulk.id).state is BulkRerunState.FINISHED
        db.session.commit()
        return done

    wait_until(bulk_done, "the bulk rerun's job", 30, every=0.1)
    rest = db.session.scalars(
        text(
            """INSERT INTO runs (id, work_order_id, project_id, workflow_id, snapshot_id,
                 starting_trigger_id, state, priority)
               SELECT gen_random_uuid(), r.work_order_id, r.project_id, r.workflow_id,
                 r.snapshot_id, r.starting_trigger_id, 'available', 1
               FROM runs r WHERE r.workflow_id = :w AND r.state = 'failed'
                 AND NOT EXISTS (SELECT 1 FROM runs n WHERE n.work_order_id = r.work_order_id
                                 AND n.state <> 'failed')
               RETURNING id"""
        ),
        {"w": world.workflow_id},
    ).all()
    db.session.commit()
    for run_id in rest:
        queue.enqueue_run(run_id, priority=bulk_reruns.commands.BATCH_PRIORITY)


def _finished(run_id) -> bool:
    db.session.expire_all()
    done = db.session.get(Run, run_id).state.is_final
    db.session.commit()
    return done


def test_a_manual_run_starts_within_one_runs_time_behind_a_bulk_rerun(pool):
    world = a_workflow_with_2000_failed_work_orders(pool.source.server_address[1])
    queue_a_bulk_rerun(world)
    # Batch work: every rerun is in the batch lane, and nearly all of them still wait.
    reruns = select(Run.priority, func.count()).where(
        Run.workflow_id == world.workflow_id, Run.state != RunState.FAILED
    )
    assert dict(db.session.execute(reruns.group_by(Run.priority)).all()) == {1: BULK}
    assert queued(RUN_QUEUE) > BULK * 0.9
    db.session.commit()

    # A person presses Run in the studio.
    client = pool.app.test_client()
    assert log_in(client, world.email, PASSWORD).status_code == 302
    builder = f"/projects/{world.project_id}/workflows/{world.workflow_id}"
    page = client.get(f"/projects/{world.project_id}/workflows/new").get_data(as_text=True)
    asked_at = time.time()
    form = {"source": "empty", "csrf_token": csrf_token_from(page)}
    response = client.post(f"{builder}/runs", data=form)
    assert response.status_code == 201
    manual = db.session.scalars(
        select(Run).where(Run.workflow_id == world.workflow_id, Run.priority == 0)
    ).one()
    db.session.commit()
    waited = started_within(manual.id, asked_at)
    wait_until(lambda: _finished(manual.id), "the manual run to finish", 30, every=0.05)

    # A caller holding a synchronous webhook open goes ahead as well; a plain one waits.
    called_at = time.time()
    reply = client.post(f"/i/{world.triggers['ask']}", json={"facility": "F-1"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    sync_run = db.session.scalars(
        select(Run).where(Run.starting_trigger_id == world.triggers["ask"], Run.id != manual.id)
    ).one()
    sync_waited = sync_run.started_at.timestamp() - called_at
    plain = client.post(f"/i/{world.triggers['hook']}", json={"facility": "F-2"})
    assert plain.status_code == 200
    plain_run = db.session.get(Run, uuid.UUID(plain.get_json()["run_id"]))

    finished = db.session.execute(
        select(Run.started_at, Run.finished_at, Run.worker_name).where(
            Run.workflow_id == world.workflow_id,
            Run.priority == 1,
            Run.state == RunState.SUCCESS,
        )
    ).all()
    db.session.commit()
    one_run = statistics.median((f - s).total_seconds() for s, f, _ in finished)
    assert one_run >= RUN_TIME_S
    assert waited < one_run, f"the manual run waited {waited:.2f} s; a run takes {one_run:.2f} s"
    assert sync_waited < one_run
    assert sync_run.priority == 0
    assert plain_run.priority == 1
    assert plain_run.state is RunState.AVAILABLE  # still behind the bulk rerun
    # The slot kept free ran no batch work at all.
    assert db.session.get(Run, manual.id).worker_name not in {name for _, _, name in finished}
    assert queued(PRIORITY_RUN_QUEUE) == 0
    assert queued(RUN_QUEUE) > BULK * 0.8


def test_the_pool_keeps_the_configured_slots_for_the_priority_lane():
    assert lanes(4, 1) == ["priority", "all", "all", "all"]
    assert lanes(4, 2) == ["priority", "priority", "all", "all"]
    assert lanes(3, 0) == ["all", "all", "all"]
    # One process keeps no slot: it takes priority runs first anyway.
    assert lanes(1, 1) == ["all"]


@pytest.mark.parametrize(
    "command", [["worker", "--processes", "2"], ["run", "--worker-processes", "2"]]
)
def test_slots_that_leave_no_process_for_batch_work_are_refused_with_the_fix(command):
    result = CliRunner().invoke(main, command, env={"FERRY_PRIORITY_SLOTS": "2"})
    assert result.exit_code == 2
    assert result.output == (
        "ferry: FERRY_PRIORITY_SLOTS=2 would keep all 2 worker processes for the priority "
        "lane, and batch runs (webhooks, cron, bulk reruns) would never run: use "
        "--processes 3 or more, or lower FERRY_PRIORITY_SLOTS.\n"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "FERRY_PRIORITY_SLOTS must be greater than zero, not -1."),
        ("two", "FERRY_PRIORITY_SLOTS must be a whole number, not 'two'."),
    ],
)
def test_a_malformed_priority_slots_setting_names_the_variable(value, message):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"FERRY_PRIORITY_SLOTS": value})
    assert str(refused.value) == message
    assert Settings.from_env({"FERRY_PRIORITY_SLOTS": "0"}).priority_slots == 0
    assert Settings.from_env({}).priority_slots == 1
