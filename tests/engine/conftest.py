"""A real Ferry stack for run-engine tests: gunicorn web, two RQ worker processes and a
scheduler, on their own PostgreSQL database and their own Redis server, all on loopback.

Tests write through the services against the same database (committed, like production)
and talk to the stack over HTTP.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from redis import Redis

from app import create_app
from app.config import Settings
from tests.support import database_url, recreate_database, worker_index

LOGS = Path(__file__).resolve().parents[2] / "test-artifacts" / "engine-logs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, what: str, seconds: float = 30.0, every: float = 0.1):
    """Poll `condition` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(every)


class RedisServer:
    """A private redis-server on a free port, which tests may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, "the private Redis to answer", 10)

    def answers(self) -> bool:
        try:
            return bool(Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except Exception:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class Stack:
    """The running processes and how to reach them."""

    def __init__(self, settings: Settings, redis: RedisServer) -> None:
        self.settings, self.redis = settings, redis
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": redis.url,
            "FERRY_HEARTBEAT_S": "1",
            "FERRY_LOST_AFTER_S": "3",
            "FERRY_WEBHOOK_REPLY_TIMEOUT_S": "20",
            # Retention tests wait for the purge: queue it every second.
            "FERRY_RETENTION_PURGE_EVERY_S": "1",
            "BASE_URL": "",
            # Steps' `collections.*` operations call the stack's own web server.
            "FERRY_API_URL": self.base_url,
        }
        self.workers: list[subprocess.Popen] = []
        self.others: list[subprocess.Popen] = []

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = open(LOGS / f"{name}-{worker_index()}.log", "a")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "workers", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_worker(self) -> subprocess.Popen:
        process = self._spawn(f"worker{len(self.workers)}", "worker")
        self.workers.append(process)
        return process

    def replace_worker(self, worker: subprocess.Popen) -> None:
        """A worker the test stopped (and waited for) gives its place to a fresh one."""
        self.workers.remove(worker)
        self.start_worker()

    def start(self) -> None:
        self.others.append(
            self._spawn(
                "web", "web", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"
            )
        )
        self.others.append(self._spawn("scheduler", "scheduler"))
        self.start_worker()
        self.start_worker()
        # Generous: on a loaded machine gunicorn alone can take most of a minute to boot.
        wait_until(self._web_answers, "the web server", 150)

    def _web_answers(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        for process in self.workers + self.others:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers + self.others:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def engine_settings() -> Settings:
    return Settings(env="test", database_url=database_url("engine"), redis_url="redis://x/0")


@pytest.fixture(scope="session")
def stack(engine_settings):
    """The whole stack, started once for the engine tests."""
    recreate_database(engine_settings.database_url)
    redis = RedisServer()
    redis.start()
    settings = Settings(env="test", database_url=engine_settings.database_url, redis_url=redis.url)
    app = create_app(settings)
    from workers.cli import upgrade_database

    running = Stack(settings, redis)
    running.app = app
    try:
        upgrade_database(app)
        # A stack that fails to start is stopped too: its processes would otherwise outlive
        # the test session and slow down every later one.
        running.start()
        yield running
    finally:
        running.stop()
        redis.stop()
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
