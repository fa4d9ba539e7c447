"""Dataclips: stored JSON bodies, and the state a step receives from one."""

from __future__ import annotations

import uuid

from app.extensions import db
from app.models import Dataclip, DataclipType
from app.services.errors import Invalid, NotFound


def input_state(dataclip_id: uuid.UUID | None) -> dict:
    """The state a run starts from.

    A webhook request gives `{"data": <body>, "request": <method, path, query, headers>}`;
    any other dataclip (typed input, saved input, a step's result) already is a state.
    """
    if dataclip_id is None:
        return {}
    dataclip = db.session.get(Dataclip, dataclip_id)
    if dataclip is None:
        raise NotFound("The run's input no longer exists.")
    if dataclip.wiped_at is not None:
        raise Invalid("dataclip", "The run's input was wiped by the retention policy.")
    if dataclip.type is DataclipType.HTTP_REQUEST:
        data = dataclip.body if dataclip.body is not None else dataclip.raw_body
        return {"data": data if data is not None else {}, "request": dataclip.request or {}}
    body = dataclip.body
    return body if isinstance(body, dict) else {"data": body}
