"""How many RQ workers are alive, per queue, from RQ's own registry in Redis.

RQ adds a worker's key to `rq:workers:<queue>` for each queue it listens on and keeps the
key itself alive with a TTL it refreshes; a worker killed without a chance to say goodbye
stays in the set until RQ's cleaning notices. So a worker counts only while its key exists:
two round trips (the sets, then one EXISTS per worker), read-only, whatever the number of
queues.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from app.extensions import QUEUE_NAMES


@dataclass(frozen=True)
class WorkerCounts:
    """Live workers in all, and how many listen on each of Ferry's queues."""

    total: int
    by_queue: dict[str, int]


def count_alive(connection: Redis) -> WorkerCounts:
    """Count the live workers on Ferry's queues (a worker on several queues counts once in
    `total` and once under each queue)."""
    pipe = connection.pipeline(transaction=False)
    for name in QUEUE_NAMES:
        pipe.smembers(WORKERS_BY_QUEUE_KEY % name)
    members = dict(zip(QUEUE_NAMES, pipe.execute(), strict=True))
    keys = sorted({key for found in members.values() for key in found})
    if not keys:
        return WorkerCounts(0, {name: 0 for name in QUEUE_NAMES})
    pipe = connection.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    alive = {key for key, exists in zip(keys, pipe.execute(), strict=True) if exists}
    return WorkerCounts(len(alive), {name: len(members[name] & alive) for name in QUEUE_NAMES})
