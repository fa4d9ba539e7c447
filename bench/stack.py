"""Shared set-up for the benchmarks: a fresh database, a workflow, and Ferry processes."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import Settings, normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402

TRIVIAL = """
name: Bench {name}
triggers:
  hook:
    type: webhook
jobs:
  step:
    name: step
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  hook->step:
    source_trigger: hook
    target_job: step
"""


def machine() -> str:
    """A line describing this machine."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def bench_settings() -> Settings:
    """Settings for the bench database (recreated) on DATABASE_URL's server."""
    base = normalise_database_url(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ferry")
    )
    url = make_url(base).set(database="ferry_bench").render_as_string(hide_password=False)
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    return Settings(env="test", database_url=url, redis_url=redis)


def fresh_database(settings: Settings):
    """Drop and create the bench database, migrate it, and return an app bound to it."""
    import psycopg

    target = make_url(settings.database_url)
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.database}"')
    app = create_app(settings)
    from workers.cli import upgrade_database

    upgrade_database(app)
    from redis import Redis

    Redis.from_url(settings.redis_url).flushdb()
    return app


def create_workflow(app, name: str) -> str:
    """A project with a one-step trivial workflow; returns its webhook trigger id."""
    from app.services import accounts, projects
    from app.services.workflows import store

    with app.app_context():
        user = accounts.create_user(f"bench-{name}@example.org", "correct horse battery staple")
        project = projects.create_project(user, f"Bench {name}")
        workflow = store.create_workflow(project.id, TRIVIAL.format(name=name))
        trigger_id = str(workflow.triggers[0].id)
        db.session.remove()
    return trigger_id


def open_runs(app) -> int:
    """How many runs are waiting or running."""
    from sqlalchemy import func, select

    from app.models import Run, RunState

    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(Run)
            .where(Run.state.in_([RunState.AVAILABLE, RunState.CLAIMED, RunState.STARTED]))
        )
        db.session.remove()
    return count


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(settings: Settings, *args: str) -> subprocess.Popen:
    """Start `ferry ARGS` with the bench settings."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    return subprocess.Popen(
        [sys.executable, "-m", "workers", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_web(settings: Settings, workers: int = 4, threads: int = 2):
    """Start `ferry web` (gunicorn, no access log) on a free port; return the process and
    its base URL once it answers."""
    port = free_port()
    sizes = ["--workers", str(workers), "--threads", str(threads)]
    address = ["--host", "127.0.0.1", "--port", str(port)]
    process = start(settings, "web", *address, *sizes, "--no-access-log")
    base_url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base_url}/health")
    return process, base_url


def wait_for_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def stop(processes: list[subprocess.Popen], seconds: float = 30) -> None:
    """SIGTERM, then SIGKILL whatever has not exited after `seconds` (gunicorn waits for
    keep-alive connections the load generator left open)."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
