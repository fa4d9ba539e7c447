"""`/i/<trigger>`: where source systems send their data. CSRF-exempt: callers are machines,
authenticated per trigger (API key or Basic) instead of by session."""

from __future__ import annotations

import json
import time

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError

from app.extensions import csrf, db
from app.services.runs import queue as run_queue
from app.services.runs.events import RunWatcher
from app.services.triggers import webhooks
from app.services.triggers.sync_reply import reply_for
from app.services.triggers.webhooks import WebhookRefused

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)

JSON_TYPES = ("application/json",)


@bp.get("/i/<path:reference>")
def describe(reference: str):
    """Say that a trigger exists here and how to use it."""
    try:
        webhooks.find_target(reference)
    except WebhookRefused as refused:
        return _error(refused.status, refused.message)
    return jsonify({"message": "Webhook trigger found: POST to this URL to run its workflow."})


@bp.post("/i/<path:reference>")
def receive(reference: str):
    """Accept a request: persist it as a work order with a run, then queue the run."""
    settings = current_app.config["FERRY_SETTINGS"]
    limit = settings.max_dataclip_mb * 1024 * 1024
    if request.content_length is not None and request.content_length > limit:
        return _error(
            413,
            f"The body is larger than the {settings.max_dataclip_mb} MB limit "
            "(FERRY_MAX_DATACLIP_MB).",
        )
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        target = webhooks.find_target(reference)
        webhooks.check_access(target, headers)
        body, raw_body = _read_body(limit)
        watcher = None
        accepted = webhooks.accept(
            target,
            body=body,
            raw_body=raw_body,
            content_type=request.mimetype or None,
            metadata=webhooks.request_metadata(
                request.method, request.path, request.args.to_dict(flat=False), headers
            ),
            idempotency_key=headers.get("idempotency-key") or None,
        )
    except WebhookRefused as refused:
        return _error(refused.status, refused.message)
    except DBAPIError:
        db.session.rollback()
        response = _error(
            503, "The database is not reachable; nothing was saved. Send the request again shortly."
        )
        response[0].headers["Retry-After"] = "5"
        return response
    ids = {
        "work_order_id": str(accepted.work_order_id),
        "run_id": str(accepted.run_id) if accepted.run_id else None,
    }
    if target.reply == "after_completion" and accepted.run_id:
        watcher = RunWatcher(accepted.run_id)
    if accepted.created:
        run_queue.enqueue_run(accepted.run_id, announce=(target.project_id, accepted.work_order_id))
    if watcher is None:
        return jsonify(ids), 200
    try:
        deadline = time.monotonic() + settings.webhook_reply_timeout_s
        status, payload = reply_for(accepted, watcher, deadline)
    finally:
        watcher.close()
    return jsonify(payload), status


def _read_body(limit: int) -> tuple[object | None, str | None]:
    """JSON bodies are parsed; form, XML and text bodies are kept exactly as received."""
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise WebhookRefused(413, "The body is larger than the configured limit.")
    if not data.strip():
        return {}, None
    mimetype = request.mimetype or ""
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        try:
            return json.loads(data), None
        except (ValueError, UnicodeDecodeError) as error:
            raise WebhookRefused(400, f"The body is not valid JSON: {error}.") from None
    return None, data.decode("utf-8", errors="replace")


def _error(status: int, message: str):
    response = jsonify({"error": message, "status": status})
    return response, status
