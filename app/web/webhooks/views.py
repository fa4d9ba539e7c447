"""`/i/<trigger>`: where source systems send their data. CSRF-exempt: callers are machines,
authenticated per trigger (API key or Basic, and/or an HMAC signature) instead of by session.

`/i/<trigger>/<sub-path>` reaches the same trigger with GET, POST, PUT, PATCH or DELETE, so
one trigger can serve a small REST (e.g. FHIR-style) API: the job sees the sub-path, method,
query and headers in `state["request"]`."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from app.db_direct import DatabaseUnavailable
from app.extensions import csrf
from app.services.triggers import webhook_input, webhook_request, webhook_targets
from app.services.triggers.webhook_input import WebhookRefused
from app.web.webhooks.fast_path import incoming_request

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)


SUBPATH_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.get("/i/<reference>")
def describe(reference: str):
    """Say that a trigger exists here and how to use it."""
    try:
        webhook_targets.find_target(reference)
    except WebhookRefused as refused:
        return _error(refused.status, refused.message)
    except DatabaseUnavailable:
        return _unavailable()
    return jsonify(
        {
            "message": "Webhook trigger found: POST to this URL to run its workflow, or send "
            "GET, POST, PUT, PATCH or DELETE to an address below it (e.g. .../Patient/123)."
        }
    )


@bp.route("/i/<reference>/<path:subpath>", methods=SUBPATH_METHODS)
def receive_subpath(reference: str, subpath: str):
    """Accept a request to a sub-path of the trigger, like one to the trigger itself."""
    if request.method == "HEAD":  # Flask answers HEAD with the GET view: store nothing
        return describe(reference)
    try:
        webhook_input.check_subpath(subpath)
    except WebhookRefused as refused:
        return _error(refused.status, refused.message)
    return receive(reference, subpath)


@bp.post("/i/<reference>")
def receive(reference: str, subpath: str = ""):
    """Accept a request: persist it as a work order with a run, then queue the run.
    (In a served app, `fast_path` answers `POST /i/<reference>` before Flask is reached;
    this view serves the sub-paths, and apps without the fast path.)"""
    arrived = time.perf_counter()  # the accept latency (/metrics) counts from here
    incoming = incoming_request(request, reference, subpath)
    return _respond(webhook_request.answer(incoming, current_app.config["FERRY_SETTINGS"], arrived))


def _respond(reply: webhook_request.WebhookReply):
    response = jsonify(reply.payload)
    response.headers.update(reply.headers)
    return response, reply.status


def _unavailable():
    return _respond(webhook_request.unavailable())


def _error(status: int, message: str):
    return _respond(webhook_request.refusal(status, message))
