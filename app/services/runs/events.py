"""Run events on Redis pub/sub: hints for live views and synchronous webhook replies.

The database row is the truth; an event only says "look again". Publishing never fails a
run: when Redis is away, live views fall back to polling.

Subscriptions (live history streams, synchronous webhook replies waiting for their run) hold
a Redis connection for as long as they last. They take it from `subscriber()`, a client with
a pool of its own, so however many are open, publishing, the queue and every ordinary request
keep theirs in `redis_client()`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError

from app.extensions import connect_redis, redis_client

log = logging.getLogger("ferry.events")
# Well above anything one process can hold open (a stream or a waiting reply is a thread);
# redis-py's default pool would refuse the 101st subscription.
MAX_SUBSCRIPTIONS = 10_000


def run_channel(run_id: uuid.UUID | str) -> str:
    """The channel with every event of one run."""
    return f"ferry:run:{run_id}"


def project_channel(project_id: uuid.UUID | str) -> str:
    """The channel with run events of a whole project (history page, dashboard)."""
    return f"ferry:project:{project_id}:runs"


def message(event: str, run_id: uuid.UUID | str, **fields) -> str:
    """The JSON text of an event about a run."""
    return json.dumps({"event": event, "run_id": str(run_id), **fields}, default=str)


def publish(project_id: uuid.UUID | str, run_id: uuid.UUID | str, event: str, **fields) -> None:
    """Announce `event` (e.g. run_started, step_finished, run_finished) for a run."""
    message_text = message(event, run_id, **fields)
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.publish(run_channel(run_id), message_text)
        pipe.publish(project_channel(project_id), message_text)
        pipe.execute()
    except (RedisError, OSError) as error:
        log.debug("event %s for run %s not published: %s", event, run_id, error)


def subscriber() -> Redis:
    """The app's Redis client for long-lived subscriptions (its own connection pool),
    created on first use."""
    client = current_app.extensions.get("ferry_subscriber_redis")
    if client is None:
        client = connect_redis(
            current_app.config["REDIS_URL"], socket_timeout=10, max_connections=MAX_SUBSCRIPTIONS
        )
        current_app.extensions["ferry_subscriber_redis"] = client
    return client


class RunWatcher:
    """Waits for a run's `run_finished` event; subscribe before checking the row, so an
    event published in between is not missed."""

    def __init__(self, run_id: uuid.UUID | str) -> None:
        self._pubsub = subscriber().pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(run_channel(run_id))

    def wait_finished(self, deadline: float) -> bool:
        """True when a run_finished event arrived before `deadline` (time.monotonic)."""
        while (remaining := deadline - time.monotonic()) > 0:
            message = self._pubsub.get_message(timeout=min(remaining, 1.0))
            if message and json.loads(message["data"]).get("event") == "run_finished":
                return True
        return False

    def close(self) -> None:
        """Unsubscribe and release the connection."""
        with contextlib.suppress(RedisError, OSError):
            self._pubsub.close()
