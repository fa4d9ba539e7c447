"""`/i/<trigger>`: where source systems send their data. CSRF-exempt: callers are machines,
authenticated per trigger (API key or Basic, and/or an HMAC signature) instead of by session.

`/i/<trigger>/<sub-path>` reaches the same trigger with GET, POST, PUT, PATCH or DELETE, so
one trigger can serve a small REST (e.g. FHIR-style) API: the job sees the sub-path, method,
query and headers in `state["request"]`."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from app.db_direct import DatabaseUnavailable, UnstorableValue
from app.extensions import csrf
from app.services import project_limits
from app.services.runs import queue as run_queue
from app.services.runs.events import RunWatcher
from app.services.triggers import webhook_input, webhook_signature, webhooks
from app.services.triggers.sync_reply import reply_for
from app.services.triggers.webhook_input import WebhookRefused

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)


SUBPATH_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.get("/i/<reference>")
def describe(reference: str):
    """Say that a trigger exists here and how to use it."""
    try:
        webhooks.find_target(reference)
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
    """Accept a request: persist it as a work order with a run, then queue the run."""
    arrived = time.perf_counter()  # the accept latency (/metrics) counts from here
    settings = current_app.config["FERRY_SETTINGS"]
    limit = settings.max_dataclip_mb * 1024 * 1024
    too_large = (
        f"The body is larger than the {settings.max_dataclip_mb} MB limit (FERRY_MAX_DATACLIP_MB)."
    )
    if request.content_length is not None and request.content_length > limit:
        return _error(413, too_large)
    headers = {name.lower(): value for name, value in request.headers.items()}
    idempotency_key = headers.get("idempotency-key") or None
    mimetype = request.mimetype
    try:
        webhook_input.check_headers(mimetype, idempotency_key)
        target = webhooks.find_target(reference)
        webhooks.check_access(target, headers)
        # The project's own payload limit (issue 17): a declared length is refused unread.
        over = project_limits.payload_refused(
            settings, target.max_payload_kb, request.content_length
        )
        if over:
            return _error(413, over)
        data = _read_body(limit)
        if data is None:
            return _error(413, too_large)
        over = project_limits.payload_refused(settings, target.max_payload_kb, len(data))
        if over:
            return _error(413, over)
        signature_digest, secret_headers = None, frozenset()
        if target.signature is not None:
            signature_digest = webhook_signature.verify(
                target.signature, headers, data, time.time()
            )
            secret_headers = frozenset((target.signature.header,))
        body, raw_body = webhook_input.parse_body(data, mimetype)
        watcher = None
        accepted = webhooks.accept(
            target,
            body=body,
            raw_body=raw_body,
            content_type=mimetype or None,
            metadata=webhook_input.request_metadata(
                request.method,
                request.path,
                request.args.to_dict(flat=False),
                headers,
                subpath,
                secret_headers,
            ),
            idempotency_key=idempotency_key,
            signature_digest=signature_digest,
        )
    except WebhookRefused as refused:
        return _error(refused.status, refused.message)
    except UnstorableValue as error:  # what the service did not foresee: still permanent
        return _error(400, f"The request holds {error.reason}. Nothing was saved.")
    except DatabaseUnavailable:
        return _unavailable()
    ids = {
        "work_order_id": str(accepted.work_order_id),
        "run_id": str(accepted.run_id) if accepted.run_id else None,
    }
    if target.reply == "after_completion" and accepted.run_id:
        watcher = RunWatcher(accepted.run_id)
    if accepted.created:
        run_queue.enqueue_run(
            accepted.run_id,
            priority=webhooks.lane_of(target),
            announce=(target.project_id, accepted.work_order_id),
            accepted_since=arrived,
        )
    if watcher is None:
        return jsonify(ids), 200
    try:
        deadline = time.monotonic() + settings.webhook_reply_timeout_s
        status, payload = reply_for(accepted, watcher, deadline)
    finally:
        watcher.close()
    return jsonify(payload), status


def _read_body(limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit`. A chunked body has no
    Content-Length to check first, and Werkzeug stops reading it at MAX_CONTENT_LENGTH
    without an error, so one byte more than the limit is read to tell."""
    request.max_content_length = limit + 1
    data = request.get_data(cache=False)
    return None if len(data) > limit else data


def _unavailable():
    """503 with Retry-After: the only answer that asks the sender to try again."""
    response, status = _error(
        503, "The database is not reachable; nothing was saved. Send the request again shortly."
    )
    response.headers["Retry-After"] = "5"
    return response, status


def _error(status: int, message: str):
    response = jsonify({"error": message, "status": status})
    return response, status
