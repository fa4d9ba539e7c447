"""Answering one webhook request, whoever hands it over: the WSGI fast path that serves
`POST /i/<trigger>` without Flask's request machinery (`app.web.webhooks.fast_path`), or
Flask's view for sub-paths (`app.web.webhooks.views`). Both give the same `WebhookRequest`
and send back the same `WebhookReply`, so the rules live here once.

The order of the checks is the order of their cost: lengths and headers, the trigger (kept
in memory, `webhook_targets.find_target`), its auth, the declared length, then the body is
read, verified and parsed, and only then stored. The answer goes out after the commit; the
run is queued after it (Redis is only a hint: the sweeper queues a run Redis never heard of).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.config import Settings
from app.db_direct import DatabaseUnavailable, UnstorableValue
from app.services import project_limits
from app.services.runs import queue as run_queue
from app.services.runs.events import RunWatcher
from app.services.triggers import (
    webhook_input,
    webhook_rate,
    webhook_signature,
    webhook_targets,
    webhooks,
)
from app.services.triggers.sync_reply import reply_for
from app.services.triggers.webhook_input import WebhookRefused

CHANGED = (
    "The trigger's settings changed while this request arrived; nothing was saved. "
    "Send the request again."
)
UNAVAILABLE = "The database is not reachable; nothing was saved. Send the request again shortly."


@dataclass(frozen=True)
class WebhookRequest:
    """What Ferry needs of an HTTP request to a trigger; `read_body(n)` reads at most n
    bytes of the body (once)."""

    reference: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    mimetype: str
    content_length: int | None
    read_body: Callable[[int], bytes]
    subpath: str = ""


@dataclass(frozen=True)
class WebhookReply:
    status: int
    payload: object
    headers: dict[str, str] = field(default_factory=dict)


def answer(incoming: WebhookRequest, settings: Settings, arrived: float) -> WebhookReply:
    """Accept the request (persist its work order and run, then queue the run) or refuse it
    with a sentence. `arrived` is the `time.perf_counter()` at which it reached Ferry (the
    accept latency in /metrics counts from there)."""
    try:
        return _accept(incoming, settings, arrived)
    except WebhookRefused as refused:
        return refusal(refused.status, refused.message)
    except UnstorableValue as error:  # what the service did not foresee: still permanent
        return refusal(400, f"The request holds {error.reason}. Nothing was saved.")
    except DatabaseUnavailable:
        return unavailable()


def refusal(status: int, message: str) -> WebhookReply:
    return WebhookReply(status, {"error": message, "status": status})


def unavailable() -> WebhookReply:
    """503 with Retry-After: the only answer that asks the sender to try again."""
    return WebhookReply(503, {"error": UNAVAILABLE, "status": 503}, {"Retry-After": "5"})


def _too_many(per_minute: int, wait_s: int) -> WebhookReply:
    message = webhook_rate.too_many(per_minute, wait_s)
    return WebhookReply(429, {"error": message, "status": 429}, {"Retry-After": str(wait_s)})


def _accept(incoming: WebhookRequest, settings: Settings, arrived: float) -> WebhookReply:
    limit = settings.max_dataclip_mb * 1024 * 1024
    too_large = (
        f"The body is larger than the {settings.max_dataclip_mb} MB limit (FERRY_MAX_DATACLIP_MB)."
    )
    declared = incoming.content_length
    if declared is not None and declared > limit:
        return refusal(413, too_large)
    headers = incoming.headers
    idempotency_key = headers.get("idempotency-key") or None
    webhook_input.check_headers(incoming.mimetype, idempotency_key)
    target = _admitted(incoming.reference, headers)
    # The project's own payload limit (issue 17): a declared length is refused unread.
    if project_limits.payload_refused(settings, target.max_payload_kb, declared):
        target = _admitted(incoming.reference, headers, fresh=True)  # the limit may be new
        over = project_limits.payload_refused(settings, target.max_payload_kb, declared)
        if over:
            return refusal(413, over)
    per_minute = target.requests_per_minute or settings.webhook_requests_per_minute
    wait_s = webhook_rate.seconds_to_wait(per_minute, target.trigger_id)
    if wait_s is not None:
        return _too_many(per_minute, wait_s)
    # One byte past the limit is read, to tell a body without a declared length that is
    # too long from one that is exactly at the limit.
    data = incoming.read_body(limit + 1)
    if len(data) > limit:
        return refusal(413, too_large)
    try:
        accepted = _store(incoming, settings, target, data, idempotency_key)
    except (webhook_targets.StaleTarget, WebhookRefused) as first:
        # The trigger, its workflow or its project may have changed since this process kept
        # the target (a new signing secret, a raised limit, a new version): a refusal stands
        # only if the stored trigger is the one it was judged on; otherwise the request is
        # checked again against what is stored now.
        stored = _admitted(incoming.reference, headers, fresh=True)
        if isinstance(first, WebhookRefused) and stored == target:
            raise
        if per_minute is None and stored.requests_per_minute:
            # A limit set since this process kept the trigger: this request counts too.
            # (A changed limit needs nothing more: the request was counted under the same key.)
            wait_s = webhook_rate.seconds_to_wait(stored.requests_per_minute, stored.trigger_id)
            if wait_s is not None:
                return _too_many(stored.requests_per_minute, wait_s)
        target = stored
        try:
            accepted = _store(incoming, settings, target, data, idempotency_key)
        except webhook_targets.StaleTarget:
            return WebhookReply(503, {"error": CHANGED, "status": 503}, {"Retry-After": "1"})
    ids = {
        "work_order_id": str(accepted.work_order_id),
        "run_id": str(accepted.run_id) if accepted.run_id else None,
    }
    watcher = None
    if target.reply == "after_completion" and accepted.run_id:
        watcher = RunWatcher(accepted.run_id)  # listening before the run can start
    if accepted.created:
        run_queue.enqueue_run(
            accepted.run_id,
            priority=webhook_targets.lane_of(target),
            announce=(target.project_id, accepted.work_order_id),
            accepted_since=arrived,
        )
    if watcher is None:
        return WebhookReply(200, ids)
    try:
        deadline = time.monotonic() + settings.webhook_reply_timeout_s
        status, payload = reply_for(accepted, watcher, deadline)
    finally:
        watcher.close()
    return WebhookReply(status, payload)


def _admitted(reference: str, headers: dict[str, str], *, fresh: bool = False):
    """The request's trigger, once it may be used with these headers. A refusal is only
    given on what is stored now: a kept target may predate a new secret or re-enabling."""
    target = webhook_targets.find_target(reference, cached=not fresh)
    try:
        webhook_targets.check_access(target, headers)
    except WebhookRefused:
        if fresh:
            raise
        target = webhook_targets.find_target(reference)
        webhook_targets.check_access(target, headers)
    return target


def _store(
    incoming: WebhookRequest,
    settings: Settings,
    target: webhook_targets.WebhookTarget,
    data: bytes,
    idempotency_key: str | None,
) -> webhooks.Accepted:
    """Check what depends on the trigger and the body, then persist the request."""
    over = project_limits.payload_refused(settings, target.max_payload_kb, len(data))
    if over:
        raise WebhookRefused(413, over)
    signature_digest, secret_headers = None, frozenset()
    if target.signature is not None:
        signature_digest = webhook_signature.verify(
            target.signature, incoming.headers, data, time.time()
        )
        secret_headers = frozenset((target.signature.header,))
    body, raw_body = webhook_input.parse_body(data, incoming.mimetype)
    metadata = webhook_input.request_metadata(
        incoming.method,
        incoming.path,
        incoming.query,
        incoming.headers,
        incoming.subpath,
        secret_headers,
    )
    return webhooks.accept(
        target,
        body=body,
        raw_body=raw_body,
        content_type=incoming.mimetype or None,
        metadata=metadata,
        idempotency_key=idempotency_key,
        signature_digest=signature_digest,
    )
