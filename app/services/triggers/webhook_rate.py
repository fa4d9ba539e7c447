"""The per-trigger webhook rate limit: with FERRY_WEBHOOK_REQUESTS_PER_MINUTE set, each webhook
trigger accepts at most that many requests in any minute (a moving window in the Redis of the
sign-in limits: app.extensions.init_limiter); the rest are answered 429 with `Retry-After` and
nothing is stored.

Only requests that passed the trigger's auth count, so strangers cannot spend a sender's
budget. When Redis cannot be reached the limit fails open with a warning in the log: the
database, not Redis, decides whether a request is kept, and an outage of the counters must not
turn away data that would otherwise be saved.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from redis.exceptions import RedisError

from app.extensions import limiter

log = logging.getLogger("ferry.limits")


def seconds_to_wait(per_minute: int | None, trigger_id: uuid.UUID) -> int | None:
    """Count one request to the trigger; None when it may go on (or there is no limit), else
    whole seconds until the window lets one more through."""
    if per_minute is None:
        return None
    item = RateLimitItemPerMinute(per_minute)
    key = ("ferry-webhook", str(trigger_id))
    try:
        strategy = limiter().limiter
        if strategy.hit(item, *key):
            return None
        reset_at, _ = strategy.get_window_stats(item, *key)
    except (StorageError, RedisError) as error:
        log.warning("webhook rate limit not checked, its storage is unreachable: %s", error)
        return None
    return max(1, math.ceil(reset_at - time.time()))


def too_many(per_minute: int, wait_s: int) -> str:
    """The sentence a refused sender reads."""
    return (
        f"This trigger accepts at most {per_minute} requests a minute and has had them; "
        f"nothing was saved. Send this request again in {wait_s} s."
    )
