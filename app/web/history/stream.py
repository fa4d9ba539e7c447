"""The history page's live stream (Server-Sent Events, read by htmx's SSE extension).

It sends hints only: `created` when new work orders arrived, `wo-<id>` when one changed.
Rows then re-read themselves from the database. A stream holds one server thread, so each
process serves at most FERRY_SSE_MAX_STREAMS of them (32 of `ferry web`'s 40 threads),
leaving threads for ordinary pages. Past that it answers 204 at once, before touching Redis:
EventSource gives up on that answer, the page polls every 5 s, and htmx tries the stream
again later with a growing back-off. Each stream's Redis subscription comes from a pool of
its own (`run_events.subscriber`), so streams never take the connections pages need.
"""

from __future__ import annotations

import contextlib
import threading
import uuid

from flask import Response, current_app, stream_with_context
from flask_login import login_required
from redis.exceptions import RedisError

from app.services.history import live as history_live
from app.web.access import project_access
from app.web.history.blueprint import bp

STREAM_SECONDS = 300  # then the browser reconnects, re-checking access
_slots_lock = threading.Lock()


@bp.get("/projects/<uuid:project_id>/history/stream")
@login_required
def stream(project_id: uuid.UUID):
    """Server-Sent Events with hints about this project's work orders."""
    project_access(project_id)
    slots = _slots()
    if not slots.acquire(blocking=False):
        return Response(status=204)
    seconds = current_app.config.get("FERRY_SSE_STREAM_SECONDS", STREAM_SECONDS)

    def events():
        # The first bytes go out at once, so the browser knows the stream is open.
        yield "retry: 3000\n: connected\n\n"
        with contextlib.closing(history_live.watch(project_id, seconds=seconds)) as hints:
            try:
                for hint in hints:
                    yield _format(hint)
            except (RedisError, OSError):
                return  # Redis is away: end the stream; the page polls until it reconnects

    response = Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    # Called by the server when the response ends for any reason, even if it never started.
    response.call_on_close(slots.release)
    return response


def _format(hint: history_live.LiveHint | None) -> str:
    """One SSE message per change; data must not be empty or browsers drop the event."""
    if hint is None:
        return ": keep-alive\n\n"
    parts = ["event: created\ndata: 1\n\n"] if hint.created else []
    parts += [f"event: wo-{wo_id}\ndata: {wo_id}\n\n" for wo_id in sorted(hint.work_order_ids)]
    return "".join(parts)


def _slots() -> threading.BoundedSemaphore:
    """This process's stream slots (one semaphore per app)."""
    with _slots_lock:
        slots = current_app.extensions.get("ferry_sse_slots")
        if slots is None:
            limit = int(current_app.config["FERRY_SSE_MAX_STREAMS"])
            slots = threading.BoundedSemaphore(limit)
            current_app.extensions["ferry_sse_slots"] = slots
        return slots
