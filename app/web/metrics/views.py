"""`GET /metrics`: Ferry's metrics in Prometheus's text format, for whoever holds
FERRY_METRICS_TOKEN. A machine endpoint, like `/health`: no sign-in, no session, no CSRF
(it is a GET and changes nothing); the token is the only key, and without one configured
the endpoint does not exist."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from app.services.metrics import access, exposition

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    """The metrics; 404 when no token is configured, 401 without the right token."""
    verdict = access.check(
        current_app.config["FERRY_SETTINGS"].metrics_token,
        request.headers.get("Authorization"),
        request.args.get("token"),
    )
    if verdict is access.Verdict.OFF:
        return _text(access.NOT_CONFIGURED, 404)
    if verdict is access.Verdict.REFUSED:
        response = _text(access.HOW_TO_SEND, 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="ferry-metrics"'
        return response
    try:
        body = exposition.render()
    except exposition.DatabaseUnavailable as error:
        return _text(error.message, 503)
    response = Response(body, 200, content_type=exposition.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _text(message: str, status: int) -> Response:
    response = Response(message + "\n", status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
