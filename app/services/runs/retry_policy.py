"""Automatic retries: what a retry policy may say, which failures it retries, and how long
the next attempt waits.

A policy is a small JSON object on a step (or a workflow, for steps without their own):

    {"max_attempts": 3, "initial_delay_s": 5, "factor": 2, "max_delay_s": 300,
     "jitter": 0.1, "retry_on": ["connection", "timeout", "http_429", "http_5xx"]}

`max_attempts` counts the first attempt too (3 = the first and two retries). Only failures
another system caused are ever retried: a compile error, a job's own `raise` or a limit hit
would fail the same way again. Pure functions: the web side checks policies with `normalise`,
the worker asks `retry_delay` after each failed attempt.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from app.services.errors import Invalid

# Failure kinds a policy can name, and the error codes (workers/runtime/errors.py) of each.
RETRY_KINDS: dict[str, str] = {
    "connection": "the other system could not be reached (refused, cut, unknown host)",
    "timeout": "the other system did not answer in time",
    "http_429": "the other system answered 429 Too Many Requests",
    "http_5xx": "the other system answered with a server error (500-599)",
}
_CONNECTION_CODES = frozenset(
    {"connection_refused", "connection_failed", "dns_failed", "database_unreachable"}
)
_TIMEOUT_CODES = frozenset({"connection_timeout", "request_timeout"})

DEFAULTS: dict[str, object] = {
    "max_attempts": 3,
    "initial_delay_s": 5.0,
    "factor": 2.0,
    "max_delay_s": 300.0,
    "jitter": 0.1,
    "retry_on": list(RETRY_KINDS),
}
# Bounds that keep a mistaken policy from hammering a system or parking a run for weeks.
MAX_ATTEMPTS = 20
MAX_DELAY_S = 24 * 3600.0
# A Retry-After beyond this is not waited for: the attempt fails as the last one would.
MAX_RETRY_AFTER_S = MAX_DELAY_S


def normalise(policy: object, field: str = "retry_policy") -> dict | None:
    """The policy with defaults filled in, or None for "no retries" (None, {} or
    max_attempts 1). Raises Invalid naming the key to fix and the values it accepts."""
    if policy is None or policy == {}:
        return None
    if not isinstance(policy, Mapping):
        raise Invalid(field, 'A retry policy must be an object such as {"max_attempts": 3}.')
    # str keys: a JSON object parsed from YAML may mix numbers and text as keys.
    unknown = sorted(str(key) for key in policy if key not in DEFAULTS)
    if unknown:
        raise Invalid(
            f"{field}.{unknown[0]}",
            f"A retry policy has no setting {unknown[0]!r}; use " + ", ".join(DEFAULTS) + ".",
        )
    merged = {**DEFAULTS, **policy}
    result = {
        "max_attempts": _number(merged, "max_attempts", field, 1, MAX_ATTEMPTS, whole=True),
        "initial_delay_s": _number(merged, "initial_delay_s", field, 0.1, MAX_DELAY_S),
        "factor": _number(merged, "factor", field, 1, 10),
        "max_delay_s": _number(merged, "max_delay_s", field, 0.1, MAX_DELAY_S),
        "jitter": _number(merged, "jitter", field, 0, 1),
        "retry_on": _kinds(merged["retry_on"], field),
    }
    if result["max_delay_s"] < result["initial_delay_s"]:
        raise Invalid(
            f"{field}.max_delay_s",
            "The longest wait (max_delay_s) cannot be shorter than the first (initial_delay_s).",
        )
    if result["max_attempts"] == 1:
        return None
    return result


def _number(policy: Mapping, key: str, field: str, low: float, high: float, *, whole=False):
    value = policy[key]
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{field}.{key}", f"{key} must be {kind} from {low:g} to {high:g}.")
    if whole and value != int(value):
        raise Invalid(f"{field}.{key}", f"{key} must be {kind} from {low:g} to {high:g}.")
    if not low <= value <= high:
        raise Invalid(f"{field}.{key}", f"{key} must be {kind} from {low:g} to {high:g}.")
    return int(value) if whole else float(value)


def _kinds(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f"{field}.retry_on", 'retry_on must be a list such as ["http_5xx"].')
    unknown = [item for item in value if item not in RETRY_KINDS]
    if unknown:
        raise Invalid(
            f"{field}.retry_on",
            f"retry_on does not know {unknown[0]!r}; use " + ", ".join(RETRY_KINDS) + ".",
        )
    if not value:
        raise Invalid(f"{field}.retry_on", "retry_on needs at least one kind of failure.")
    return [kind for kind in RETRY_KINDS if kind in value]  # stable order, no repeats


def effective(step_policy: dict | None, workflow_policy: dict | None) -> dict | None:
    """The policy a step runs with: its own, else the workflow's (both already normalised)."""
    return step_policy if step_policy is not None else workflow_policy


def failure_kind(error: Mapping | None) -> str | None:
    """Which RETRY_KINDS a step error is, or None when it is never retried."""
    if not error:
        return None
    code = error.get("code")
    if code in _CONNECTION_CODES:
        return "connection"
    if code in _TIMEOUT_CODES:
        return "timeout"
    if code == "http_error":
        status = (error.get("details") or {}).get("status")
        if status == 429:
            return "http_429"
        if isinstance(status, int) and 500 <= status <= 599:
            return "http_5xx"
    return None


def retry_delay(
    policy: dict | None, error: Mapping | None, attempt: int, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when the failed attempt
    `attempt` is the last: no policy, attempts used up, a kind the policy does not retry,
    or a Retry-After too far away. A Retry-After the error carries (details.retry_after_s)
    is honoured: the wait is never shorter than it asked."""
    if policy is None or attempt >= policy["max_attempts"]:
        return None
    kind = failure_kind(error)
    if kind is None or kind not in policy["retry_on"]:
        return None
    backoff = min(
        policy["initial_delay_s"] * policy["factor"] ** (attempt - 1), policy["max_delay_s"]
    )
    spread = backoff * policy["jitter"]
    backoff += (rng or random).uniform(-spread, spread)
    asked = (error.get("details") or {}).get("retry_after_s")
    if isinstance(asked, int | float) and not isinstance(asked, bool) and asked >= 0:
        if asked > MAX_RETRY_AFTER_S:
            return None
        return max(float(asked), backoff)
    return max(backoff, 0.0)
