"""Inputs of zero-persistence projects: what their dataclip rows keep (metadata only) and the
state held in Redis instead of the body (`transient`)."""

from __future__ import annotations

import json
import uuid

from app.extensions import db
from app.json_text import JsonText
from app.models import Dataclip, DataclipType
from app.services.errors import Invalid
from app.services.zero_persistence import REDIS_DOWN, transient


def request_metadata(metadata: dict, size: int) -> dict:
    """What the dataclip row of a webhook request keeps: its method, path and size. Never its
    headers or query values, which may hold personal data as much as the body."""
    return {
        "method": metadata.get("method"),
        "path": metadata.get("path"),
        "size_bytes": size,
        "not_stored": "zero persistence",
    }


def keep_request(dataclip_id: uuid.UUID, data: bytes, metadata: dict) -> None:
    """Hold a webhook request's state, `{"data": <body>, "request": <metadata>}`, for its run
    (the state `dataclips.state_of` gives a stored request); Unavailable when Redis cannot."""
    request = json.dumps(metadata, ensure_ascii=False).encode()
    transient.keep(dataclip_id, b'{"data": ' + data + b', "request": ' + request + b"}")


def body_text(body: object, raw_body: str | None, encode) -> bytes:
    """The request's body as the JSON text of the state's `data` (a large body as the text
    it came in; a non-JSON body as a string; none as {}); `encode` is the caller's encoder."""
    if isinstance(body, JsonText):
        return body.joined()
    if body is None:
        body = raw_body if raw_body is not None else {}
    return encode(body).encode()


def keep_input(dataclip_id: uuid.UUID, state: dict) -> None:
    """Hold a typed input (already a state) for its run; Unavailable when Redis cannot."""
    transient.keep(dataclip_id, transient.as_text(state))


def unstored_input(project_id: uuid.UUID, state: dict) -> uuid.UUID:
    """A typed manual input: a row without it (`not_stored`, added to the session), the input
    itself held in Redis for its run. Invalid when Redis cannot hold it."""
    clip = Dataclip(project_id=project_id, type=DataclipType.SAVED_INPUT, not_stored=True)
    db.session.add(clip)
    db.session.flush()
    try:
        keep_input(clip.id, state)
    except transient.Unavailable:
        db.session.rollback()
        raise Invalid("input", REDIS_DOWN) from None
    except (ValueError, TypeError):
        db.session.rollback()
        raise Invalid("input", "The input holds a value JSON cannot carry (such as NaN).") from None
    return clip.id
