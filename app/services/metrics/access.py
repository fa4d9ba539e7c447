"""Who may scrape: whoever presents FERRY_METRICS_TOKEN, compared in constant time."""

from __future__ import annotations

import enum
import hmac

NOT_CONFIGURED = (
    "Metrics are off on this Ferry: set FERRY_METRICS_TOKEN to a long random value to serve "
    "them at /metrics."
)
HOW_TO_SEND = (
    "Send the metrics token (FERRY_METRICS_TOKEN) as 'Authorization: Bearer <token>' or as "
    "?token=<token>."
)


class Verdict(enum.Enum):
    """What a scrape request gets: the metrics, 404 (metrics off) or 401 (no or wrong token)."""

    ALLOWED = "allowed"
    OFF = "off"
    REFUSED = "refused"


def check(configured: str | None, authorization: str | None, query_token: str | None) -> Verdict:
    """Judge a scrape by its Authorization header (`Bearer <token>`) or `?token=`."""
    if not configured:
        return Verdict.OFF
    given = _bearer(authorization) or query_token or ""
    # compare_digest takes time independent of where the strings differ.
    if given and hmac.compare_digest(given.encode(), configured.encode()):
        return Verdict.ALLOWED
    return Verdict.REFUSED


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
