"""The per-trigger webhook rate limit: a trigger's own `webhook_requests_per_minute` (set in
the workflow document or the trigger panel) or else the instance's
FERRY_WEBHOOK_REQUESTS_PER_MINUTE: at most that many accepted requests in any minute (a moving
window: app.services.rate_limits); the rest are answered 429 with `Retry-After` and nothing
is stored.

Only requests that passed the trigger's auth count, so strangers cannot spend a sender's
budget. When Redis cannot be reached the limit fails open with a warning in the log: the
database, not Redis, decides whether a request is kept, and an outage of the counters must not
turn away data that would otherwise be saved.
"""

from __future__ import annotations

import uuid

from limits import RateLimitItemPerMinute

from app.services import rate_limits
from app.services.parsing import kind_of

# A trigger's own limit (`webhook_requests_per_minute` in the workflow document) is 1 to this.
MAX_PER_MINUTE = 100_000


def problem_with(per_minute: object) -> str | None:
    """What is wrong with a trigger's own limit as a document gives it (None: nothing; a
    missing limit is fine and means the instance's)."""
    if per_minute is None:
        return None
    number = isinstance(per_minute, int | float) and not isinstance(per_minute, bool)
    if number and isinstance(per_minute, int) and 0 < per_minute <= MAX_PER_MINUTE:
        return None
    if number:
        shown = str(per_minute)
    elif isinstance(per_minute, str):
        shown = repr(per_minute[:40])
    else:
        shown = kind_of(per_minute)
    return (
        f"The rate limit is a whole number of requests a minute, from 1 to "
        f"{MAX_PER_MINUTE:,}, or left out for the server's default; not {shown}."
    )


def seconds_to_wait(per_minute: int | None, trigger_id: uuid.UUID) -> int | None:
    """Count one request to the trigger; None when it may go on (or there is no limit), else
    whole seconds until the window lets one more through."""
    if per_minute is None:
        return None
    item = RateLimitItemPerMinute(per_minute)
    key = ("ferry-webhook", str(trigger_id))
    return rate_limits.seconds_to_wait(item, key, "webhook rate limit")


def too_many(per_minute: int, wait_s: int) -> str:
    """The sentence a refused sender reads."""
    return (
        f"This trigger accepts at most {per_minute} requests a minute and has had them; "
        f"nothing was saved. Send this request again in {wait_s} s."
    )
