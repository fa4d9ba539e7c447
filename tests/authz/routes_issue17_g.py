"""Matrix entry for issue 17's `/metrics`: a machine endpoint keyed by FERRY_METRICS_TOKEN,
not by roles. The matrix's app configures no token, so the endpoint is off: 404 for
everybody, signed in or not (tests/web/test_metrics.py covers the token itself)."""

from __future__ import annotations

from tests.authz.rules import ROLES, Rule

ROUTES = {
    "metrics.scrape": Rule(
        "public",
        expect={role: 404 for role in ROLES},
        note="off without FERRY_METRICS_TOKEN; with one, only the token opens it",
    ),
}
