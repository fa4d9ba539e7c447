"""How a running step reaches Ferry's own API (its project's collections).

The sandbox holds no database URL by design, so the executor hands each step the API's URL
and a short-lived token scoped to the run's project (`StepRequest.ferry_api`, see
app/services/collections/step_tokens.py). The sandbox child records them here before job
code runs; the `collections` operations read them. The executor opens exactly the API's
host and port in the step's egress allowlist, in case it is an internal address.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FerryApi:
    """The API's base URL (no trailing slash) and the step's bearer token."""

    url: str
    token: str


_current: FerryApi | None = None


def enter_step(given: object) -> str | None:
    """Record the step's API access (the sandbox child calls it); returns the token, which
    the caller adds to the step's scrubber, or None when the step has no access."""
    global _current
    if isinstance(given, dict) and given.get("url") and given.get("token"):
        _current = FerryApi(str(given["url"]).rstrip("/"), str(given["token"]))
        return _current.token
    _current = None
    return None


def current() -> FerryApi | None:
    """The running step's API access, or None (a local run, a test without a server)."""
    return _current
