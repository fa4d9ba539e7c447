"""`ferry run` (what `make run` calls): everything starts, the demo login works, it stops cleanly.

Real processes, a real HTTP client on loopback, SQLite as in the zero-setup demo.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus

from app.config import Settings
from tests.support import free_port
from workers.all_in_one import _resolve_redis
from workers.embedded_redis import EmbeddedRedis, redis_answers
from workers.scheduler import SCHEDULER_HEARTBEAT_KEY


def wait_for(url: str, seconds: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_until(condition, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def children_of(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split()]


@pytest.fixture
def ferry_run(tmp_path: Path, settings):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "REDIS_URL": settings.redis_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process, f"http://127.0.0.1:{port}"
    if process.poll() is None:
        process.kill()


def test_ferry_run_serves_the_app_and_the_demo_login_works(ferry_run, settings):
    process, base = ferry_run
    assert wait_for(f"{base}/login").status_code == 200
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        page = browser.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = browser.post(
            "/login",
            data={
                "email": "demo@example.org",
                "password": "ferry-demo-password",
                "csrf_token": token,
            },
        )
        assert response.status_code == 302
        projects = browser.get("/").text
        assert "Demo project" in projects
        assert browser.get("/health").json()["status"] == "ok"
    assert len(children_of(process.pid)) == 2  # the worker and the scheduler
    redis = Redis.from_url(settings.redis_url)
    wait_until(lambda: Worker.count(connection=redis) >= 1, "the worker registers with Redis")
    wait_until(lambda: redis.exists(SCHEDULER_HEARTBEAT_KEY), "the scheduler's heartbeat")

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert "Open:     " + base in output
    assert "demo@example.org / ferry-demo-password" in output
    assert "worker listening on queues" in output
    assert "scheduler stopped" in output
    assert children_of(process.pid) == []


def test_without_a_redis_an_embedded_one_serves_a_worker_in_another_process(tmp_path: Path):
    unreachable = Settings(
        env="test", redis_url="redis://127.0.0.1:1/0", extra={"redis_url_defaulted": True}
    )
    import contextlib

    with contextlib.ExitStack() as stack:
        resolved = _resolve_redis(unreachable, stack)
        assert resolved.redis_url.startswith("unix://")
        assert redis_answers(resolved.redis_url)
        connection = Redis.from_url(resolved.redis_url)
        job = Queue("default", connection=connection).enqueue("platform.python_version")
        worker = subprocess.run(
            [sys.executable, "-m", "workers", "worker", "--burst"],
            env={
                **os.environ,
                "REDIS_URL": resolved.redis_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert worker.returncode == 0, worker.stderr
        finished = Job.fetch(job.id, connection=connection)
        assert finished.get_status() == JobStatus.FINISHED
        assert finished.return_value() == sys.version.split()[0]


def test_an_explicit_redis_url_that_does_not_answer_is_an_error():
    import contextlib

    from app.services.startup import StartupError

    explicit = Settings(env="test", redis_url="redis://127.0.0.1:1/0")
    with contextlib.ExitStack() as stack, pytest.raises(StartupError, match="no Redis answers"):
        _resolve_redis(explicit, stack)


def test_embedded_redis_stops_on_exit(tmp_path: Path):
    with EmbeddedRedis(tmp_path) as url:
        assert redis_answers(url)
    assert not redis_answers(url)
