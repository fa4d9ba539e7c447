"""Bodies of zero-persistence projects, kept in Redis only while a run needs them.

Keys: `ferry:zp:body:<dataclip id>` holds a state as JSON text (a webhook request's
`{"data": ..., "request": ...}`, a typed input, or the input of a step waiting for an
automatic retry) for BODY_TTL_S; `ferry:zp:reply:<run id>` holds what a synchronous webhook
answers with for REPLY_TTL_S. Nothing here is ever written to the database or a log.

This is the one exception to "Redis carries hints, never state that exists nowhere else":
for such a project that is the point, and a lost body is said plainly (`INPUT_LOST`).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable

from redis.exceptions import RedisError

from app.extensions import redis_client
from app.json_text import RAW_ABOVE_BYTES, JsonText
from app.services.errors import Invalid
from app.services.zero_persistence import INPUT_LOST

BODY_TTL_S = 24 * 3600
# A waiting webhook caller gives up long before this (FERRY_WEBHOOK_REPLY_TIMEOUT_S).
REPLY_TTL_S = 600


class Unavailable(Exception):
    """Redis could not keep a body: the caller refuses what would need it."""


def _body_key(dataclip_id: uuid.UUID | str) -> str:
    return f"ferry:zp:body:{dataclip_id}"


def _reply_key(run_id: uuid.UUID | str) -> str:
    return f"ferry:zp:reply:{run_id}"


def as_text(state: dict | JsonText) -> bytes:
    """A state's JSON text, as kept here."""
    if isinstance(state, JsonText):
        return state.joined()
    return json.dumps(state, ensure_ascii=False, allow_nan=False).encode()


def keep(dataclip_id: uuid.UUID, text: bytes) -> None:
    """Hold the state (JSON text) a run will read as this dataclip; Unavailable when Redis
    cannot."""
    try:
        redis_client().set(_body_key(dataclip_id), text, ex=BODY_TTL_S)
    except (RedisError, OSError) as error:
        raise Unavailable(str(error)) from None


def state_for(dataclip_id: uuid.UUID) -> dict | JsonText:
    """The state held for this dataclip; Invalid with INPUT_LOST when it is gone."""
    try:
        text = redis_client().get(_body_key(dataclip_id))
    except (RedisError, OSError):
        text = None
    if text is None:
        raise Invalid("dataclip", INPUT_LOST)
    if len(text) > RAW_ABOVE_BYTES and text[:1] == b"{":
        return JsonText((text,))  # passed to the sandbox as it is (app.json_text)
    state = json.loads(text)
    return state if isinstance(state, dict) else {"data": state}


def forget(dataclip_ids: Iterable[uuid.UUID | str | None]) -> None:
    """Delete the held states of these dataclips (the run no longer needs them); a Redis
    failure only leaves them to expire."""
    keys = [_body_key(dataclip_id) for dataclip_id in dataclip_ids if dataclip_id]
    if not keys:
        return
    with contextlib.suppress(RedisError, OSError):  # else they expire within BODY_TTL_S
        redis_client().delete(*keys)


def keep_reply(run_id: uuid.UUID, state: dict | JsonText) -> None:
    """Hold what a synchronous webhook answers with once this run ends: the final state's
    `data` and `webhook_response`, nothing else."""
    if isinstance(state, JsonText):
        state = state.parsed()
    reply = {"data": state.get("data"), "webhook_response": state.get("webhook_response")}
    # On failure the caller is told the result was not kept (sync_reply).
    with contextlib.suppress(RedisError, OSError, ValueError, TypeError):
        redis_client().set(_reply_key(run_id), as_text(reply), ex=REPLY_TTL_S)


def take_reply(run_id: uuid.UUID) -> dict | None:
    """The reply held for this run, deleted as it is read; None when there is none."""
    try:
        pipe = redis_client().pipeline()
        pipe.get(_reply_key(run_id))
        pipe.delete(_reply_key(run_id))
        text, _ = pipe.execute()
    except (RedisError, OSError):
        return None
    return json.loads(text) if text is not None else None
