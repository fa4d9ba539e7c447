"""Fixtures of the deletion tests: the default RQ queue, and the grace period to use."""

from __future__ import annotations

import dataclasses

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from app.extensions import DEFAULT_QUEUE


@pytest.fixture
def default_queue(settings):
    redis = Redis.from_url(settings.redis_url)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")
    yield Queue(DEFAULT_QUEUE, connection=redis)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")


@pytest.fixture
def no_grace(app, monkeypatch):
    """FERRY_DELETION_GRACE_DAYS=0: deletions are purged at once."""
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], deletion_grace_days=0)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)


@pytest.fixture
def run_jobs(default_queue):
    """Run the queued jobs in this process, like a worker would."""
    return lambda: SimpleWorker([default_queue], connection=default_queue.connection).work(
        burst=True
    )
