"""Live history: the project's run events (Redis pub/sub) turned into hints for open pages.

A hint says only "look again": which work orders changed, and whether new ones arrived.
Pages then re-read those rows from the database, so what a live page shows is always what a
reload would show. Webhooks do not announce new work orders, so arrivals are also found by
a cheap check of the newest work order every few seconds.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import select

from app.extensions import db
from app.models import Run
from app.services.history import listing
from app.services.runs.events import project_channel, subscriber

GATHER_S = 0.25  # events within this window become one hint (a run's burst of step events)
CHECK_S = 2.0  # how often to look for new work orders without an event
HEARTBEAT_S = 15.0  # a quiet stream still writes this often, so dead clients are noticed


@dataclass
class LiveHint:
    """What changed: work orders to re-read, and whether new work orders arrived."""

    work_order_ids: set[uuid.UUID] = field(default_factory=set)
    created: bool = False

    def __bool__(self) -> bool:
        return self.created or bool(self.work_order_ids)


def watch(
    project_id: uuid.UUID, *, seconds: float, check_every: float = CHECK_S
) -> Iterator[LiveHint | None]:
    """Yield a hint whenever something changed, and None as a heartbeat when quiet; stop
    after `seconds` (the browser reconnects). Close the iterator to unsubscribe."""
    # Its Redis connection comes from the subscribers' own pool, not the one pages use.
    pubsub = subscriber().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(project_channel(project_id))
    newest = _newest(project_id)
    known_runs: dict[str, uuid.UUID] = {}
    seen: set[uuid.UUID] = set()
    deadline = time.monotonic() + seconds
    next_check = time.monotonic() + check_every
    last_sent = time.monotonic()
    try:
        while (now := time.monotonic()) < deadline:
            try:
                events = _gather(pubsub, timeout=max(0.0, min(next_check, deadline) - now))
            except (RedisError, OSError):
                return  # Redis went away: the page falls back to polling and reconnects
            hint = LiveHint()
            unknown_runs: set[uuid.UUID] = set()
            for event in events:
                run_id = str(event.get("run_id"))
                if event.get("work_order_id"):
                    known_runs[run_id] = uuid.UUID(str(event["work_order_id"]))
                if run_id in known_runs:
                    hint.work_order_ids.add(known_runs[run_id])
                else:
                    with contextlib.suppress(ValueError):
                        unknown_runs.add(uuid.UUID(run_id))
            if unknown_runs:
                hint.work_order_ids |= _work_orders_of(unknown_runs)
            # A work order not seen before may be new: look now rather than at the next check.
            unseen = hint.work_order_ids - seen
            seen |= hint.work_order_ids
            if unseen or time.monotonic() >= next_check:
                latest = _newest(project_id)
                if latest is not None and (newest is None or latest > newest):
                    newest, hint.created = latest, True
                next_check = time.monotonic() + check_every
            if len(known_runs) > 10_000:  # a stream lives minutes; keep its memory small
                known_runs.clear()
                seen.clear()
            if hint:
                last_sent = time.monotonic()
                yield hint
            elif time.monotonic() - last_sent >= HEARTBEAT_S:
                last_sent = time.monotonic()
                yield None
    finally:
        with contextlib.suppress(RedisError, OSError):
            pubsub.close()


def _gather(pubsub, timeout: float) -> list[dict]:
    """Wait up to `timeout` for an event, then collect what follows within GATHER_S."""
    events: list[dict] = []
    message = pubsub.get_message(timeout=timeout)
    if message is None:
        return events
    window = time.monotonic() + GATHER_S
    while message is not None:
        with contextlib.suppress(ValueError, TypeError):
            events.append(json.loads(message["data"]))
        remaining = window - time.monotonic()
        message = pubsub.get_message(timeout=remaining) if remaining > 0 else None
    return events


def _newest(project_id: uuid.UUID) -> datetime | None:
    try:
        return listing.newest_arrival(project_id)
    finally:
        db.session.rollback()  # hand the connection back: a stream lives for minutes


def _work_orders_of(run_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    try:
        return set(db.session.scalars(select(Run.work_order_id).where(Run.id.in_(run_ids))))
    finally:
        db.session.rollback()
