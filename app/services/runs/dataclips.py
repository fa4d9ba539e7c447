"""Dataclips: stored JSON bodies, and the state a step receives from one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.json_text import JsonText
from app.models import DataclipType
from app.services import zero_persistence
from app.services.errors import Invalid, NotFound
from app.services.zero_persistence import transient


@dataclass(frozen=True)
class InputClip:
    """The columns of a run's input dataclip that make its state (read with the claim)."""

    type: DataclipType
    body: object
    raw_body: str | None
    request: dict | None
    wiped_at: datetime | None
    # A large JSON body as its UTF-8 text instead of `body` (the claim reads it so).
    body_text: bytes | None = None
    # The body was never stored (zero persistence): it is held in Redis for the run, if at all.
    not_stored: bool = False


def state_of(clip: InputClip | None) -> dict | JsonText:
    """The state a run starts from its input dataclip; NotFound when the row is gone.

    A webhook request gives `{"data": <body>, "request": <method, path, query, headers>}`;
    any other dataclip (typed input, saved input, a step's result) already is a state.
    """
    if clip is None:
        raise NotFound("The run's input no longer exists.")
    if clip.wiped_at is not None:
        raise Invalid("dataclip", "The run's input was wiped by the retention policy.")
    if clip.not_stored:
        raise Invalid("dataclip", zero_persistence.INPUT_LOST)  # see `input_state`
    if clip.body_text is not None:
        return _state_text(clip)
    if DataclipType(clip.type) is DataclipType.HTTP_REQUEST:
        data = clip.body if clip.body is not None else clip.raw_body
        return {"data": data if data is not None else {}, "request": clip.request or {}}
    body = clip.body
    return body if isinstance(body, dict) else {"data": body}


def input_state(dataclip_id: uuid.UUID | None, clip: InputClip | None) -> dict | JsonText:
    """`state_of`, or for a body never stored (zero persistence) the state held in Redis
    for the run; Invalid saying the input was lost when it is no longer there. No
    dataclip at all: `{}`."""
    if dataclip_id is None:
        return {}
    if clip is not None and clip.not_stored:
        return transient.state_for(dataclip_id)
    return state_of(clip)


def _state_text(clip: InputClip) -> JsonText:
    """`state_of` for a body read as text: the same state, as JSON text (app.json_text)."""
    if DataclipType(clip.type) is DataclipType.HTTP_REQUEST:
        return JsonText.wrapping("data", clip.body_text, {"request": clip.request or {}})
    if clip.body_text[:1] == b"{":
        return JsonText((clip.body_text,))
    return JsonText.wrapping("data", clip.body_text)
