"""The per-token API rate limit: each API token may make `api_requests_per_minute` calls in any
minute (a moving window: app.services.rate_limits, which fails open while Redis is down).

A call over the limit is answered 429 with `Retry-After` and changes nothing: the check runs
right after authentication, before any view.
"""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItemPerMinute

from app.services import api_tokens, rate_limits


def seconds_to_wait(token: str) -> int | None:
    """Count one call of `token`; None when it may go on, else whole seconds to wait."""
    item = RateLimitItemPerMinute(current_app.config["FERRY_SETTINGS"].api_requests_per_minute)
    key = ("ferry-api", api_tokens.limit_key(token))
    return rate_limits.seconds_to_wait(item, key, "API rate limit")
