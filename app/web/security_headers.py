"""Security headers on every response, and `/csp-report`, where browsers report CSP violations.

Every response carries `nosniff`, no framing (`frame-ancestors 'none'`, plus `X-Frame-Options`
for browsers that predate it), a referrer policy, HSTS when BASE_URL is https, and an enforced
content policy: scripts, styles, fonts, images and fetches come from Ferry itself only, with
no 'unsafe-inline' and no 'unsafe-eval'. Pages therefore carry no inline `<script>`, event
handler (`onclick=`), `style=` attribute or `javascript:` URL, and htmx is kept from injecting
its indicator `<style>` and from evaluating code (no `hx-on`, `js:` values or `[...]` trigger
filters); vendored scripts that would inject styles are configured not to (ace's strict CSP
mode, cytoscape's stylesheet placeholder). tests/browser/test_csp.py opens every page type and
fails on any violation. What browsers still block is reported to `/csp-report` and logged.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request, url_for

from app.extensions import csrf
from app.services.errors import Invalid
from app.services.parsing import load_json

log = logging.getLogger("ferry.security")

bp = Blueprint("security", __name__)

# Every source is Ferry itself: scripts, styles and fonts are served from /static (vendored),
# and pages fetch only Ferry's own URLs. `data:` images are Bootstrap's inline SVG icons.
# The report URI is added per response (it follows the app's mount point).
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Ferry's URLs carry project ids and credential-transfer tokens, and many deployments sit on
# internal host names: other sites learn neither, not even the origin. Ferry's own pages
# still get the full Referer (Flask-WTF checks it on HTTPS form posts).
REFERRER_POLICY = "same-origin"

# Only when BASE_URL is https: browsers then refuse plain HTTP to Ferry's host for a year.
# Not includeSubDomains: Ferry cannot know what else runs under its domain.
HSTS = "max-age=31536000"

# A real report is well under 2 KB; anything bigger is not a browser's, so it is dropped
# unread. Fields are cut short too, so nobody can fill the log through this endpoint.
MAX_REPORT_BYTES = 16 * 1024
REPORT_PATH = "/csp-report"
MAX_REPORTS_PER_BODY = 20
MAX_FIELD_CHARS = 300


def register(app: Flask) -> None:
    """Add the headers to every response and serve the report endpoint."""
    app.after_request(add_security_headers)
    app.register_blueprint(bp)


def add_security_headers(response: Response) -> Response:
    """Set each security header the response does not already have (a view's own wins)."""
    headers = response.headers
    https = current_app.config["FERRY_SETTINGS"].base_url.startswith("https://")
    for name, value in security_headers(url_for("security.csp_report"), https=https):
        headers.setdefault(name, value)
    return response


def security_headers(report_uri: str, *, https: bool) -> list[tuple[str, str]]:
    """The headers every response carries; `report_uri` is where /csp-report is served, and
    `https` says whether Ferry is served over HTTPS (its BASE_URL)."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", f"{POLICY}; report-uri {report_uri}"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", REFERRER_POLICY),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


@bp.post(REPORT_PATH)
@csrf.exempt  # browsers send reports without a token or a session; nothing is changed here
def csp_report():
    """Log each violation a browser reports; always 204, whatever arrives."""
    for report in _reports(_capped_body()):
        log.warning(
            "CSP violation: directive=%s blocked=%s page=%s source=%s",
            *(_clean(report.get(key)) for key in ("directive", "blocked", "page", "source")),
        )
    return Response(status=204)


def _capped_body() -> bytes | None:
    if request.content_length is not None and request.content_length > MAX_REPORT_BYTES:
        return None
    # A body without a length (chunked) is read one byte past the limit to tell.
    body = request.stream.read(MAX_REPORT_BYTES + 1)
    return body if len(body) <= MAX_REPORT_BYTES else None


def _reports(body: bytes | None) -> list[dict[str, Any]]:
    """The violations in a `report-uri` body ({"csp-report": ...}) or a Reporting API batch."""
    if not body:
        return []
    try:
        value = load_json(body, field="body", what="The report")
    except Invalid as refused:
        log.debug("CSP report ignored: %s", refused.message)
        return []
    if isinstance(value, dict) and isinstance(value.get("csp-report"), dict):
        raw = value["csp-report"]
        return [
            {
                "directive": raw.get("effective-directive") or raw.get("violated-directive"),
                "blocked": raw.get("blocked-uri"),
                "page": raw.get("document-uri"),
                "source": _source(raw.get("source-file"), raw.get("line-number")),
            }
        ]
    if isinstance(value, list):
        return [
            {
                "directive": item["body"].get("effectiveDirective"),
                "blocked": item["body"].get("blockedURL"),
                "page": item["body"].get("documentURL"),
                "source": _source(item["body"].get("sourceFile"), item["body"].get("lineNumber")),
            }
            for item in value[:MAX_REPORTS_PER_BODY]
            if isinstance(item, dict)
            and item.get("type") == "csp-violation"
            and isinstance(item.get("body"), dict)
        ]
    return []


def _source(file: object, line: object) -> str | None:
    if not file:
        return None
    return f"{file}:{line}" if line else str(file)


def _clean(value: object) -> str:
    """One short printable line: a report is untrusted text headed for the log."""
    if value is None or value == "":
        return "-"
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value)[:MAX_FIELD_CHARS])
    return text.replace(" ", "%20")
