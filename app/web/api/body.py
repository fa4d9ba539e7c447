"""Reading what API callers send: the body (JSON, or a YAML/JSON workflow document), typed
fields of it and typed query parameters.

Everything goes through `services.parsing`, so a body Ferry cannot keep (malformed, nested
too deeply, NaN, NUL) is refused the same way everywhere. A request that cannot be read at
all raises `Unreadable` (400); a readable one with a wrong field raises `Invalid` (422).
"""

from __future__ import annotations

import re
import uuid

from flask import request

from app.services import parsing
from app.services.errors import Invalid

_WHOLE = re.compile(r"^-?[0-9]{1,18}$")


class Unreadable(Invalid):
    """The body or a query parameter cannot be read at all (400, not 422)."""


def json_object() -> dict:
    """The body as a JSON object; an empty body is {}."""
    data = request.get_data()
    if not data.strip():
        return {}
    value = _parsed(lambda: parsing.load_json(data, field="body", what="The body"))
    if not isinstance(value, dict):
        raise Invalid("body", 'Send a JSON object, e.g. {"name": "Intake"}, not a list or a value.')
    return value


def document() -> object:
    """A workflow document: JSON when the Content-Type says so, else YAML (or JSON) text."""
    data = request.get_data()
    if request.is_json:
        return _parsed(lambda: parsing.load_json(data, field="body", what="The body"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable("body", f"The body is not UTF-8 text (byte {error.start}).") from None
    return _parsed(lambda: parsing.load_yaml(text, field="body", what="The body"))


def text(body: dict, key: str) -> str | None:
    """`body[key]` when it is text or absent (None); Invalid naming `key` otherwise."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(key, f"{key} must be text, not {parsing.kind_of(value)}.")
    return value


def an_id(value: object, field: str) -> uuid.UUID | None:
    """`value` as an id (None when absent); Invalid naming `field` when it is not one."""
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(field, f"{field} is not an id.") from None


def query_int(name: str) -> int | None:
    """The query parameter `name` as a whole number (None when absent)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not _WHOLE.match(raw):
        raise Unreadable(name, f"{name} must be a whole number, e.g. {name}=2.")
    return int(raw)


def query_text(name: str, max_length: int = 200) -> str | None:
    """The query parameter `name`, refused when longer than any value Ferry gives out."""
    raw = request.args.get(name)
    if raw is not None and len(raw) > max_length:
        raise Unreadable(name, f"{name} is too long: at most {max_length} characters.")
    return raw


def _parsed(read):
    try:
        return read()
    except Unreadable:
        raise
    except Invalid as error:
        raise Unreadable(error.field, error.message) from None
