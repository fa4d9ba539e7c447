"""How a running step reaches Ferry's own API (its project's collections).

The sandbox holds no database URL by design, so the executor hands each step the API's URL
and a short-lived token scoped to the run's project (`StepRequest.ferry_api`, see
app/services/collections/step_tokens.py). The sandbox child records them here before job
code runs; the `collections` operations read them.

The API may sit on an internal address (worker and web on one machine), which the egress
guard refuses to job code. It lets exactly the API's host and port through, and only while
a `collections` operation's own request is being sent (`calling`): job code cannot import
this module, so it cannot open that door for its own requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FerryApi:
    """The API's base URL (no trailing slash) and the step's bearer token."""

    url: str
    token: str

    @property
    def endpoint(self) -> tuple[str, int] | None:
        """The API's (host, port), or None when the URL names no host."""
        parts = urlsplit(self.url)
        if not parts.hostname:
            return None
        return parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)


_current: FerryApi | None = None
_calling: set[int] = set()  # threads sending a `collections` operation's request right now


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


@contextmanager
def calling() -> Iterator[None]:
    """While inside, this thread's connections to the API's host and port are allowed."""
    ident = threading.get_ident()
    _calling.add(ident)
    try:
        yield
    finally:
        _calling.discard(ident)


def permits(host_ips: frozenset[str], ip: str, port: object) -> bool:
    """True when `ip`:`port` is the API (`host_ips`: the addresses its host resolves to) and
    this thread is sending a `collections` operation's request."""
    return threading.get_ident() in _calling and ip in host_ips and port == _endpoint_port()


def api_host() -> str | None:
    """The API's host name or address for the step, if it has API access."""
    endpoint = _current.endpoint if _current is not None else None
    return endpoint[0] if endpoint else None


def _endpoint_port() -> int | None:
    endpoint = _current.endpoint if _current is not None else None
    return endpoint[1] if endpoint else None
