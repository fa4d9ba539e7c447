"""`POST /i/<trigger>` answered before Flask is reached.

A webhook is the one request Ferry serves by the thousand per second, and nearly half of
its CPU went to machinery it does not use: the request context, the session, sign-in, CSRF,
the rate limiter's lookup, and the after-request hooks. This WSGI layer recognises the
trigger's own address (POST, no sub-path) and hands it straight to the same service the
Flask view uses (`app.services.triggers.webhook_request`), with the same JSON body and
headers; every other request, sub-paths included, goes on to Flask unchanged.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus

from flask import Flask, current_app, has_app_context
from werkzeug.wrappers import Request

from app.services.triggers import webhook_request
from app.web.security_headers import REPORT_PATH, security_headers

log = logging.getLogger("ferry.webhooks")
PREFIX = "/i/"
SERVER_ERROR = "Something went wrong on our side. The problem was logged."


class WebhookFastPath:
    """WSGI middleware in front of `app.wsgi_app` (installed by `install`)."""

    def __init__(self, app: Flask, flask_wsgi_app) -> None:
        self.app = app
        self.flask_wsgi_app = flask_wsgi_app
        self.https = app.config["FERRY_SETTINGS"].base_url.startswith("https://")

    def __call__(self, environ: dict, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or not _trigger_address(environ):
            return self.flask_wsgi_app(environ, start_response)
        arrived = time.perf_counter()  # the accept latency (/metrics) counts from here
        request = Request(environ)
        if has_app_context() and current_app._get_current_object() is self.app:
            reply = self._answer(request, arrived)  # a test's own context, as Flask would
        else:
            with self.app.app_context():
                reply = self._answer(request, arrived)
        body = _json(self.app, reply.payload)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *security_headers(environ.get("SCRIPT_NAME", "") + REPORT_PATH, https=self.https),
            *reply.headers.items(),
        ]
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers)
        return [body]

    def _answer(self, request: Request, arrived: float) -> webhook_request.WebhookReply:
        incoming = incoming_request(request, request.path[len(PREFIX) :])
        try:
            settings = self.app.config["FERRY_SETTINGS"]  # read per request, as views do
            return webhook_request.answer(incoming, settings, arrived)
        except Exception:
            if self.app.config.get("PROPAGATE_EXCEPTIONS") or self.app.testing:
                raise  # as Flask does under test, so a failing test shows the error
            log.exception("webhook request to %s failed", request.path)
            return webhook_request.refusal(500, SERVER_ERROR)


def _json(app: Flask, payload: object) -> bytes:
    """The payload as `jsonify` writes it outside debug mode (compact, a newline at the end),
    without building a Flask response only to read its body back."""
    if app.debug:
        return app.json.response(payload).get_data()
    return (app.json.dumps(payload, separators=(",", ":")) + "\n").encode()


def install(app: Flask) -> None:
    """Put the fast path in front of the app's WSGI callable."""
    app.wsgi_app = WebhookFastPath(app, app.wsgi_app)


def _trigger_address(environ: dict) -> bool:
    """True for /i/<reference> exactly (no sub-path, not /i/ alone)."""
    path = environ.get("PATH_INFO", "")
    return path.startswith(PREFIX) and len(path) > len(PREFIX) and "/" not in path[len(PREFIX) :]


def incoming_request(
    request: Request, reference: str, subpath: str = ""
) -> webhook_request.WebhookRequest:
    """What the accept service needs of a Werkzeug (or Flask) request to a trigger."""
    return webhook_request.WebhookRequest(
        reference=reference,
        method=request.method,
        path=request.path,
        query=request.args.to_dict(flat=False) if request.query_string else {},
        headers={name.lower(): value for name, value in request.headers.items()},
        mimetype=request.mimetype,
        content_length=request.content_length,
        read_body=lambda most: read_body(request, most),
        subpath=subpath,
    )


def read_body(request: Request, most: int) -> bytes:
    """At most `most` bytes of the body. A chunked body has no Content-Length to check
    first, and Werkzeug stops reading it at the limit without an error."""
    request.max_content_length = most
    return request.get_data(cache=False)
