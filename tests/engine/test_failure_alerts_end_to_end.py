"""Failure alerts end to end: real worker processes on their own database and Redis, a real
SMTP server (aiosmtpd) and a real HTTP endpoint on loopback.

A webhook run fails; the opted-in member's alert reaches the SMTP server within 10 seconds,
the opted-out member gets nothing, and the HTTP endpoint receives a correctly signed JSON
body. Then a flood: 500 failing runs of one workflow give each recipient at most the limit
plus one summary.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from rq import Worker
from sqlalchemy import func, select, update

from app import create_app
from app.config import Settings
from app.extensions import db, redis_client
from app.models import ProjectMember, Role, RunState, WorkflowSnapshot, WorkOrder, WorkOrderState
from app.models.base import utcnow
from app.models.notifications import AlertLogEntry, AlertWindow
from app.models.runs import Run
from app.services import accounts, projects
from app.services.encryption import encrypt_text
from app.services.notifications import failure_alerts
from app.services.runs import lifecycle
from app.services.runs.claims import ClaimedRun
from app.services.workflows import store
from tests.engine.conftest import LOGS, RedisServer, free_port, wait_until
from tests.support import database_url, recreate_database, worker_index

PATIENT = "Amina Wanjiru-4471"
HOOK_SECRET = "hook secret 42"
FAILING = """
name: Patient sync
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  send:
    name: Send to DHIS2
    adaptor: common@1
    body: |
      fn(lambda state: (print("sending", state["data"]["patient"]), 1 / 0))
edges:
  webhook->send:
    source_trigger: webhook
    target_job: send
    condition_type: always
"""


class Inbox:
    """The SMTP server's handler: keeps every message with when it arrived."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default)
        self.messages.append((envelope.rcpt_tos, message, time.monotonic()))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for rcpt, m, _ in self.messages if address in rcpt]


class Receiver(BaseHTTPRequestHandler):
    """The HTTP channel's endpoint: keeps each POST's headers and body."""

    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def alert_stack():
    """Two worker processes on a fresh database and Redis, with MAIL_URL on aiosmtpd."""
    url = database_url("alerts")
    recreate_database(url)
    redis = RedisServer()
    redis.start()
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    Receiver.received = []
    http = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    mail_url = f"smtp://127.0.0.1:{smtp_port}?from=ferry@example.org"
    base_url = "http://ferry.example.org"
    settings = Settings(
        env="test", database_url=url, redis_url=redis.url, mail_url=mail_url, base_url=base_url
    )
    app = create_app(settings)
    app.config.update(TESTING=True)
    from workers.cli import upgrade_database

    upgrade_database(app)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis.url,
        "MAIL_URL": mail_url,
        "BASE_URL": base_url,
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    workers = []
    for n in range(2):
        log = open(LOGS / f"alerts-worker{n}-{worker_index()}.log", "a")  # noqa: SIM115
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "workers", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        with app.app_context():
            wait_until(lambda: len(Worker.all(connection=redis_client())) == 2, "the workers", 60)
        yield SimpleNamespace(app=app, inbox=inbox, http=http, base_url=base_url)
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.stop()
        http.shutdown()
        http.server_close()
        redis.stop()
        with app.app_context():
            db.engine.dispose()


def alerting_project(stack, name: str):
    """An owner (alerts on, Europe/Berlin), an admin who turned alerts off, a failing
    workflow, and the HTTP channel on the loopback receiver (allowed by the allowlist)."""
    suffix = uuid.uuid4().hex[:6]
    owner = accounts.create_user(f"owner-{suffix}@example.org", "correct horse battery staple")
    owner.time_zone = "Europe/Berlin"
    quiet = accounts.create_user(f"quiet-{suffix}@example.org", "correct horse battery staple")
    project = projects.create_project(owner, name)
    db.session.add(
        ProjectMember(
            project_id=project.id, user_id=quiet.id, role=Role.ADMIN, failure_alerts=False
        )
    )
    port = stack.http.server_address[1]
    project.alert_webhook_url = f"http://127.0.0.1:{port}/alerts"
    project.alert_webhook_secret_encrypted = encrypt_text(HOOK_SECRET)
    project.egress_allowlist = [f"127.0.0.1:{port}"]
    db.session.commit()
    workflow = store.get_workflow(store.create_workflow(project.id, FAILING).id)
    return SimpleNamespace(
        owner=owner.email,
        quiet=quiet.email,
        project_id=project.id,
        workflow_id=workflow.id,
        trigger_id=workflow.triggers[0].id,
        snapshot_id=db.session.scalar(
            select(WorkflowSnapshot.id)
            .where(WorkflowSnapshot.workflow_id == workflow.id)
            .order_by(WorkflowSnapshot.inserted_at.desc())
            .limit(1)
        ),
    )


def test_a_failed_webhook_run_alerts_the_opted_in_member_within_10_seconds(alert_stack):
    stack = alert_stack
    with stack.app.app_context():
        world = alerting_project(stack, "Clinic intake")
        db.session.remove()
    Receiver.received.clear()
    started = time.monotonic()
    response = stack.app.test_client().post(
        f"/i/{world.trigger_id}", json={"patient": {"name": PATIENT}}
    )
    assert response.status_code in (200, 201, 202), response.get_data(as_text=True)

    wait_until(lambda: stack.inbox.to(world.owner), "the owner's alert", 10)
    arrived = next(t for rcpt, _, t in stack.inbox.messages if world.owner in rcpt)
    assert arrived - started < 10
    (mail,) = stack.inbox.to(world.owner)
    assert mail["Subject"] == "[Ferry] Patient sync failed in Clinic intake"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Send to DHIS2" in html and PATIENT not in html
    assert "Failing step: Send to DHIS2" in text and "ZeroDivisionError" in text
    assert "(Europe/Berlin)" in text and f"{stack.base_url}/projects/" in text
    assert PATIENT not in text

    wait_until(lambda: Receiver.received, "the HTTP channel's POST", 10)
    ((headers, body),) = Receiver.received
    expected = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Ferry-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert (payload["state"], payload["step"]) == ("failed", "Send to DHIS2")
    assert payload["workflow"]["name"] == "Patient sync" and PATIENT.encode() not in body
    time.sleep(0.5)  # a mail to the opted-out member would have arrived with the other
    assert stack.inbox.to(world.quiet) == []


def test_a_flood_of_500_failures_gives_at_most_the_limit_and_one_summary(alert_stack):
    stack = alert_stack
    with stack.app.app_context():
        world = alerting_project(stack, "Flood project")
        snapshot_id = world.snapshot_id
        # Ids set here, rows sent in two batched INSERTs: a flush per row cost 1,000 round trips.
        orders = [
            WorkOrder(
                id=uuid.uuid4(),
                project_id=world.project_id,
                workflow_id=world.workflow_id,
                trigger_id=world.trigger_id,
                snapshot_id=snapshot_id,
                state=WorkOrderState.RUNNING,
            )
            for _ in range(500)
        ]
        db.session.add_all(orders)
        db.session.flush()
        runs = [
            Run(
                id=uuid.uuid4(),
                work_order_id=work_order.id,
                project_id=world.project_id,
                workflow_id=world.workflow_id,
                snapshot_id=snapshot_id,
                starting_trigger_id=world.trigger_id,
                state=RunState.STARTED,
            )
            for work_order in orders
        ]
        db.session.add_all(runs)
        db.session.flush()
        claimed = [
            ClaimedRun(
                run.id,
                run.work_order_id,
                world.project_id,
                world.workflow_id,
                snapshot_id,
                world.trigger_id,
                None,
                None,
            )
            for run in runs
        ]
        db.session.commit()
        for run in claimed:  # each end queues its alert job for the real workers
            lifecycle.finish(run, RunState.FAILED, error_type="Error", error_message="boom")

        def all_decided():
            done = db.session.scalar(
                select(func.count())
                .select_from(AlertLogEntry)
                .where(
                    AlertLogEntry.project_id == world.project_id,
                    AlertLogEntry.kind == "failure",
                )
            )
            db.session.rollback()
            return done == 1000  # the owner's mail and the HTTP channel, per run

        wait_until(all_decided, "the 500 alert jobs", 25, every=0.25)
        # The window ends (time travel); two schedulers send its summary.
        db.session.execute(
            update(AlertWindow)
            .where(AlertWindow.workflow_id == world.workflow_id)
            .values(ends_at=utcnow())
        )
        db.session.commit()
        assert failure_alerts.send_due_summaries() == 2  # the owner and the HTTP channel
        assert failure_alerts.send_due_summaries() == 0
        db.session.remove()

    wait_until(lambda: len(stack.inbox.to(world.owner)) >= 4, "the owner's mails", 10)
    time.sleep(0.3)
    subjects = [m["Subject"] for m in stack.inbox.to(world.owner)]
    assert subjects.count("[Ferry] Patient sync failed in Flood project") == 3
    assert subjects.count("[Ferry] 497 more runs of Patient sync failed in Flood project") == 1
    assert len(subjects) == 4
    assert stack.inbox.to(world.quiet) == []
    wait_until(
        lambda: len([b for _, b in Receiver.received if b"Flood project" in b]) == 4,
        "the HTTP channel's alerts and summary",
        10,
    )
    flood = [json.loads(b) for _, b in Receiver.received if b"Flood project" in b]
    assert sorted(p["type"] for p in flood) == ["failure"] * 3 + ["summary"]
    assert next(p for p in flood if p["type"] == "summary")["count"] == 497
