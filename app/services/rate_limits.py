"""Counting calls against a moving-window limit, in the Redis Ferry uses (the storage of the
app's Flask-Limiter: app.extensions.init_limiter).

Every limit built on this fails open: when the counters cannot be reached the call goes on
and the log says so. An outage of Redis must not lock people out of Ferry or turn away data
the database would keep.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem
from limits.errors import StorageError
from redis.exceptions import RedisError

from app.extensions import limiter

log = logging.getLogger("ferry.limits")


def seconds_to_wait(item: RateLimitItem, key: tuple[str, ...], what: str) -> int | None:
    """Count one call under `key`; None when it may go on, else whole seconds until the window
    lets one more through. `what` names the limit in the warning logged when the counters'
    storage cannot be reached (the call then goes on)."""
    try:
        strategy = limiter().limiter
        if strategy.hit(item, *key):
            return None
        reset_at, _ = strategy.get_window_stats(item, *key)
    except (StorageError, RedisError) as error:
        log.warning("%s not checked, its storage is unreachable: %s", what, error)
        return None
    return max(1, math.ceil(reset_at - time.time()))
