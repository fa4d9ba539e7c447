"""Unbound extension singletons, bound to an app in `create_app`.

Redis is reached through `redis_client()` so that no connection is made until something
needs one (creating the app does no I/O).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from sqlalchemy import JSON, DateTime, MetaData, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, registry

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


def redis_client() -> Redis:
    """The app's Redis client, created on first use from REDIS_URL."""
    client = current_app.extensions.get("ferry_redis")
    if client is None:
        client = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
        )
        current_app.extensions["ferry_redis"] = client
    return client


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
