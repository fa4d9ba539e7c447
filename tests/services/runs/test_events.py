"""Run events: long-lived subscriptions take their Redis connections from a pool of their
own, so they never use up the connections of ordinary requests."""

from __future__ import annotations

import time
import uuid

from app.extensions import redis_client
from app.services.runs import events as run_events


def in_use(client) -> int:
    return len(client.connection_pool._in_use_connections)


def test_waiting_for_runs_holds_subscriber_connections_not_the_apps(app, db):
    pages = redis_client()
    pages.ping()
    before = in_use(pages)
    listeners = run_events.subscriber()
    assert listeners.connection_pool is not pages.connection_pool
    run_ids = [uuid.uuid4() for _ in range(120)]
    watchers = [run_events.RunWatcher(run_id) for run_id in run_ids]
    try:
        assert in_use(listeners) == 120
        assert in_use(pages) == before
        assert pages.ping()  # ordinary requests still get a connection at once
        run_events.publish(uuid.uuid4(), run_ids[-1], "run_finished", state="success")
        assert watchers[-1].wait_finished(time.monotonic() + 5)
        assert not watchers[0].wait_finished(time.monotonic() + 0.2)
    finally:
        for watcher in watchers:
            watcher.close()
    assert in_use(listeners) == 0
