"""The per-token API rate limit: each API token may make `api_requests_per_minute` calls in any
minute (a moving window, counted in the Redis of the sign-in limits: app.extensions.init_limiter).

A call over the limit is answered 429 with `Retry-After` and changes nothing: the check runs
right after authentication, before any view. When Redis cannot be reached the limit fails open
with a warning in the log, as the sign-in limits do: an outage of the counters must not stop
every integration.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from redis.exceptions import RedisError

from app.extensions import limiter
from app.services import api_tokens

log = logging.getLogger("ferry.limits")


def seconds_to_wait(token: str) -> int | None:
    """Count one call of `token`; None when it may go on, else whole seconds until the window
    lets one more through."""
    item = RateLimitItemPerMinute(current_app.config["FERRY_SETTINGS"].api_requests_per_minute)
    key = ("ferry-api", api_tokens.limit_key(token))
    try:
        strategy = limiter().limiter
        if strategy.hit(item, *key):
            return None
        reset_at, _ = strategy.get_window_stats(item, *key)
    except (StorageError, RedisError) as error:
        log.warning("API rate limit not checked, its storage is unreachable: %s", error)
        return None
    return max(1, math.ceil(reset_at - time.time()))
