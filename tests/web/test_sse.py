"""The history live stream: hints from run events, and 100 open streams under gunicorn
(gthread) while ordinary pages still answer promptly."""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from redis import Redis

from app import create_app
from app.config import Settings
from app.extensions import db as _db
from app.services import accounts, projects
from app.services.runs.events import project_channel
from tests import factories
from tests import history_factories as hf
from tests.support import database_url, free_port, recreate_database, redis_url
from workers.cli import upgrade_database

ROOT = Path(__file__).resolve().parents[2]
AGENT = "ferry-stream-test"
# `ferry web` itself (gunicorn, gthread) with one process of 108 threads: room for 100
# streams (FERRY_SSE_MAX_STREAMS) plus the 8 threads it keeps for pages, as by default
# (40 threads, 32 streams).
STREAMS = 100


def publish(settings, project_id, **event) -> None:
    """What the executor publishes when a run changes."""
    Redis.from_url(settings.redis_url).publish(project_channel(project_id), json.dumps(event))


def read_until(chunks, pattern: str, seconds: float = 10) -> str:
    seen, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen += next(chunks).decode()
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"{pattern!r} not seen in {seen!r}")


@pytest.fixture
def project(user, db):
    return factories.project(user)


def test_stream_turns_run_events_and_arrivals_into_hints(app, signed_in, project, settings):
    flow = hf.workflow(project)
    order = hf.work_order(flow, state="running")
    app.config["FERRY_SSE_STREAM_SECONDS"] = 8
    try:
        response = signed_in.get(f"/projects/{project.id}/history/stream", buffered=False)
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-cache"
        chunks = iter(response.response)
        assert next(chunks).decode().startswith("retry: 3000")

        def later():
            time.sleep(0.6)  # the stream subscribes on its next read
            publish(
                settings,
                project.id,
                event="run_finished",
                run_id=str(uuid.uuid4()),
                work_order_id=str(order.id),
                state="success",
            )

        threading.Thread(target=later).start()
        assert f"event: wo-{order.id}\ndata: {order.id}\n\n" in read_until(chunks, r"event: wo-")
        hf.work_order(flow)  # a webhook arrives: no event, found by the arrival check
        assert "event: created\ndata: 1" in read_until(chunks, r"event: created")
        response.close()
    finally:
        app.config.pop("FERRY_SSE_STREAM_SECONDS")


def test_step_events_name_their_work_order_through_the_run(app, signed_in, project, settings, db):
    from sqlalchemy import select

    from app.models import Run

    order = hf.work_order(hf.workflow(project), state="running")
    run_id = db.session.scalar(select(Run.id).where(Run.work_order_id == order.id))
    app.config["FERRY_SSE_STREAM_SECONDS"] = 5
    try:
        response = signed_in.get(f"/projects/{project.id}/history/stream", buffered=False)
        chunks = iter(response.response)
        next(chunks)

        def later():
            time.sleep(0.6)
            publish(settings, project.id, event="step_finished", run_id=str(run_id))

        threading.Thread(target=later).start()
        assert f"event: wo-{order.id}" in read_until(chunks, r"event: wo-")
        response.close()
    finally:
        app.config.pop("FERRY_SSE_STREAM_SECONDS")


def test_stream_needs_access_and_answers_204_when_full(app, client, signed_in, project, db):
    other = factories.project(factories.user())
    assert signed_in.get(f"/projects/{other.id}/history/stream").status_code == 404
    configured = app.config["FERRY_SSE_MAX_STREAMS"]
    app.config["FERRY_SSE_MAX_STREAMS"] = 0
    app.extensions.pop("ferry_sse_slots", None)
    try:
        # 204 makes EventSource give up: the page polls instead, and htmx retries later.
        started = time.perf_counter()
        full = signed_in.get(f"/projects/{project.id}/history/stream")
        assert full.status_code == 204 and full.get_data() == b""
        assert time.perf_counter() - started < 0.5  # answered at once, no stream opened
    finally:
        app.config["FERRY_SSE_MAX_STREAMS"] = configured
        app.extensions.pop("ferry_sse_slots", None)


# -- 100 open streams under gunicorn -------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_server():
    """`ferry web` (one gthread process, 108 threads, 100 stream slots) on its own database,
    and a signed-in session cookie for a project."""
    url = database_url("sse")
    recreate_database(url)
    settings = Settings(env="test", database_url=url, redis_url=redis_url())
    application = create_app(settings)
    upgrade_database(application)
    with application.app_context():
        person = accounts.create_user("streams@example.org", factories.PASSWORD)
        project_id = projects.create_project(person, "Streams").id
        _db.engine.dispose()
    port = free_port()
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed with the server
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "workers", "web", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", "1", "--threads", str(STREAMS + 8), "--no-access-log"),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": settings.redis_url,
            "FERRY_ENV": "test",
            "FERRY_SSE_MAX_STREAMS": str(STREAMS),
            # Streams notice a gone client only when they next write: don't wait 30 s for it.
            "GUNICORN_CMD_ARGS": "--graceful-timeout 3",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"gunicorn exited:\n{log.read()[-3000:]}") from None
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)
    # Flask-Login ties the session to the user agent, so every client here sends the same.
    with httpx.Client(base_url=base, headers={"User-Agent": AGENT}) as browser:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get("/login").text)
        signed = browser.post(
            "/login",
            data={
                "email": "streams@example.org",
                "password": factories.PASSWORD,
                "csrf_token": token.group(1),
            },
        )
        assert signed.status_code == 302
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    yield base, port, cookie, project_id, settings
    process.terminate()
    process.wait(timeout=20)
    log.close()


def _open_stream(port: int, path: str, cookie: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        f"User-Agent: {AGENT}\r\nCookie: {cookie}\r\n\r\n"
    )
    sock.sendall(request.encode())
    received = b""
    while b"retry: 3000" not in received:
        chunk = sock.recv(4096)
        assert chunk, f"the stream closed before it opened: {received[:300]!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    return sock


def test_a_hundred_open_streams_leave_pages_prompt(gunicorn_server):
    base, port, cookie, project_id, settings = gunicorn_server
    path = f"/projects/{project_id}/history/stream"
    streams = [_open_stream(port, path, cookie) for _ in range(STREAMS)]
    try:
        timings = []
        with httpx.Client(
            base_url=base, headers={"Cookie": cookie, "User-Agent": AGENT}
        ) as browser:
            for page in ("/", f"/projects/{project_id}/history", "/health") * 10:
                started = time.perf_counter()
                answer = browser.get(page)
                assert answer.status_code == 200, (page, answer.text[:300])
                timings.append(time.perf_counter() - started)
        p95 = sorted(timings)[int(0.95 * len(timings)) - 1]
        print(
            f"\n100 open streams: page median {statistics.median(timings) * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms"
        )
        assert p95 < 0.5, f"pages slowed to p95 {p95 * 1000:.0f} ms with 100 streams open"
        # Every stream is alive: one run event reaches all hundred.
        work_order_id = uuid.uuid4()
        publish(
            settings,
            project_id,
            event="run_started",
            run_id=str(uuid.uuid4()),
            work_order_id=str(work_order_id),
        )
        for sock in streams:
            received = b""
            while f"event: wo-{work_order_id}".encode() not in received:
                chunk = sock.recv(4096)
                assert chunk, "a stream closed"
                received += chunk
        # The 101st stream finds this process full and is told to poll instead.
        with httpx.Client(
            base_url=base, headers={"Cookie": cookie, "User-Agent": AGENT}
        ) as browser:
            assert browser.get(path).status_code == 204
    finally:
        for sock in streams:
            sock.close()
