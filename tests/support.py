"""Helpers shared by tests: database URLs per xdist worker, CSRF-aware form posts, logins."""

from __future__ import annotations

import os
import re
import socket

import psycopg
from flask import g
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from app.config import normalise_database_url

BASE_DATABASE_URL = normalise_database_url(
    os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ferry")
)
BASE_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def worker_index() -> int:
    """0 without xdist, else the xdist worker number (gw3 -> 3)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


# Databases are named per test process, so that several pytest sessions (an engineer's and
# CI's, or xdist workers) never drop each other's databases.
_CREATED: list[str] = []


def database_url(suffix: str) -> str:
    """A URL on the same server as DATABASE_URL for a test database of this process."""
    url = make_url(BASE_DATABASE_URL)
    name = f"ferry_test_{suffix}_{os.getpid()}"
    return url.set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgresql_credential(url: str) -> dict:
    """The postgresql adaptor's credential for the database at `url`."""
    parts = make_url(url)
    return {
        "host": parts.host or "127.0.0.1",
        "port": parts.port or 5432,
        "database": parts.database,
        "user": parts.username or "postgres",
        "password": parts.password or "",
    }


def redis_url() -> str:
    """A Redis database number (1..15) of this xdist worker: no two workers of one session
    share one. Sessions run side by side by hand set FERRY_TEST_REDIS_OFFSET to different
    values so that they do not empty each other's databases."""
    url = make_url(BASE_REDIS_URL.replace("redis://", "postgresql://", 1))
    offset = int(os.environ.get("FERRY_TEST_REDIS_OFFSET", "0"))
    number = 1 + (worker_index() + offset) % 15
    host = url.host or "127.0.0.1"
    auth = f":{url.password}@" if url.password else ""
    return f"redis://{auth}{host}:{url.port or 6379}/{number}"


def drop_created_databases() -> None:
    """Drop every database this process created (called at the end of the session)."""
    for url in _CREATED:
        target = make_url(url)
        admin = target.set(drivername="postgresql", database="postgres")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


def recreate_database(url: str) -> None:
    """Drop and create the database named in `url` (connecting to the server's `postgres`)."""
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.database}"')
    if url not in _CREATED:
        _CREATED.append(url)


def csrf_token_from(html: str) -> str:
    """The CSRF token embedded in a rendered page."""
    match = _CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def post_form(client: FlaskClient, page_url: str, action_url: str, data: dict, **kwargs):
    """Open `page_url` like a browser, then submit its form to `action_url` with the token."""
    page = client.get(page_url)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(action_url, data={**data, "csrf_token": token}, **kwargs)


def log_in(client: FlaskClient, email: str, password: str, **kwargs):
    """Sign in through the real login form."""
    return post_form(client, "/login", "/login", {"email": email, "password": password}, **kwargs)


class RequestScopedClient(FlaskClient):
    """A test client whose every request starts with an empty `g`, as in production.

    Tests hold one app context open (the rolled-back session lives in it) and Flask reuses
    it for each request, so without this `g` (CSRF token cache, Flask-Login's user) would
    leak from one request into the next.
    """

    def open(self, *args, **kwargs):
        g.__dict__.clear()
        return super().open(*args, **kwargs)


def browser_redis_url() -> str:
    """The Redis database of the live server in browser tests: a different number from
    `redis_url()`, so the live server's worker never takes jobs in-process tests queued.
    FERRY_TEST_REDIS_OFFSET moves it too: two sessions' live servers sharing one database
    would take each other's jobs (a mail job then finds no message in its own database)."""
    offset = int(os.environ.get("FERRY_TEST_REDIS_OFFSET", "0"))
    return redis_url().rsplit("/", 1)[0] + f"/{1 + (worker_index() + offset + 8) % 15}"


def second_browser_redis_url() -> str:
    """The Redis database of a second live server (a browser test that needs an instance
    of its own), apart from `redis_url()` and `browser_redis_url()` for the same reasons."""
    offset = int(os.environ.get("FERRY_TEST_REDIS_OFFSET", "0"))
    return redis_url().rsplit("/", 1)[0] + f"/{1 + (worker_index() + offset + 4) % 15}"
