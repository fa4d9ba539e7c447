"""Reading a webhook request before anything is stored: header lengths, the sub-path, the
body (JSON parsed, other types kept as text) and what is kept about the request.

Input Ferry cannot store is refused here with a 400 that names what to fix. The checks cost
next to nothing on the hot path: header lengths, a NUL byte search in text bodies, JSON parsed
with NaN/Infinity refused, and a depth walk only for bodies holding more brackets than
`MAX_DEPTH`.
"""

from __future__ import annotations

import json
import math

from app.json_text import RAW_ABOVE_BYTES, JsonText
from app.services.parsing import MAX_DEPTH, nested_deeper_than

REDACTED_HEADERS = {"authorization", "proxy-authorization", "x-api-key", "cookie"}
JSON_TYPES = ("application/json",)
# The columns' sizes: dataclips.content_type, work_orders.idempotency_key, triggers.custom_path.
MAX_CONTENT_TYPE = MAX_IDEMPOTENCY_KEY = MAX_CUSTOM_PATH = 200
# Longer than any resource path an API needs (FHIR's are a few dozen characters).
MAX_SUBPATH = 1000


class WebhookRefused(Exception):
    """The request cannot be accepted; `status` and `message` go back to the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_headers(content_type: str | None, idempotency_key: str | None) -> None:
    """Refuse (400) headers too long to store, before anything else is done."""
    for header, value, limit in (
        ("Content-Type", content_type, MAX_CONTENT_TYPE),
        ("Idempotency-Key", idempotency_key, MAX_IDEMPOTENCY_KEY),
    ):
        if value and len(value) > limit:
            raise WebhookRefused(
                400, f"The {header} header is too long: at most {limit} characters are kept."
            )


def check_subpath(subpath: str) -> None:
    """Refuse (400) a sub-path (what follows `/i/<trigger>/`) the job should never be handed:
    control characters (a NUL from %00 among them), "." or ".." segments, or overlong."""
    if len(subpath) > MAX_SUBPATH:
        raise WebhookRefused(
            400, f"The address after the trigger is too long: at most {MAX_SUBPATH} characters."
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in subpath):
        raise WebhookRefused(
            400,
            "The address after the trigger holds a control character (such as %00); "
            "remove it and send the request again.",
        )
    if any(segment in (".", "..") for segment in subpath.split("/")):
        raise WebhookRefused(
            400,
            'The address after the trigger may not hold "." or ".." segments: name the '
            "resource directly, e.g. Patient/123.",
        )


def parse_body(data: bytes, mimetype: str) -> tuple[object | None, str | None]:
    """(body, raw_body): JSON bodies are parsed; form, XML and text bodies are kept as
    received. Refuses (400) JSON that is malformed, holds NaN/Infinity or is nested too
    deeply to read, and text holding a NUL byte (PostgreSQL text cannot hold one)."""
    if not data.strip():
        return {}, None
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        large = _large_json(data)
        if large is not None:
            return large, None
        try:
            body = _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
        except _NonFinite as error:
            raise WebhookRefused(400, f"The body holds {error}, which JSON cannot store.") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise WebhookRefused(400, f"The body is not valid JSON: {error}.") from None
        except RecursionError:
            raise WebhookRefused(400, TOO_DEEP) from None
        # Fewer brackets than the limit cannot nest deeper than it: most bodies skip the walk.
        if data.count(b"[") + data.count(b"{") > MAX_DEPTH and nested_deeper_than(body):
            raise WebhookRefused(400, TOO_DEEP)
        return body, None
    if b"\x00" in data:
        raise WebhookRefused(
            400,
            "The body holds a NUL byte, which Ferry cannot store as text. Remove it, or "
            "send binary data base64-encoded inside JSON.",
        )
    return None, data.decode("utf-8", errors="replace")


def request_metadata(
    method: str,
    path: str,
    query: dict,
    headers: dict[str, str],
    subpath: str = "",
    secret_headers: frozenset[str] = frozenset(),
) -> dict:
    """What is stored about the request beside its body (and what the job sees as
    `state["request"]`): credentials are redacted, those `REDACTED_HEADERS` names and the
    trigger's own `secret_headers` (its signature header). `subpath` is what followed
    `/i/<trigger>/` ("" for the trigger's own address)."""
    hidden = REDACTED_HEADERS | secret_headers if secret_headers else REDACTED_HEADERS
    return {
        "method": method,
        "path": path,
        "subpath": subpath,
        "query": query,
        "headers": {k: ("[REDACTED]" if k in hidden else v) for k, v in headers.items()},
    }


TOO_DEEP = (
    f"The body is nested too deeply: at most {MAX_DEPTH} levels of objects and lists. Flatten it."
)


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    raise _NonFinite(name)


# Built once: json.loads with options builds a new decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _large_json(data: bytes) -> JsonText | None:
    """A large UTF-8 JSON body, checked as `parse_body` checks any, kept as the text it came
    in (PostgreSQL parses it again to store it); None for the others, which are read as
    objects. Objects would take four times the text and be encoded again to be stored: a
    10 MB body cost the web process 80 MB. Here each object is reduced to its depth as soon
    as it is read, so only the text and small numbers are held."""
    if len(data) <= RAW_ABOVE_BYTES or json.detect_encoding(data) != "utf-8":
        return None
    try:
        value = _CHECKER.decode(data.decode("utf-8", "surrogatepass"))
        too_deep = _depth(value) > MAX_DEPTH
    except _NonFinite as error:
        raise WebhookRefused(400, f"The body holds {error}, which JSON cannot store.") from None
    except _TooLarge:
        raise WebhookRefused(400, TOO_LARGE_NUMBER) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookRefused(400, f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        raise WebhookRefused(400, TOO_DEEP) from None
    if too_deep:
        raise WebhookRefused(400, TOO_DEEP)
    return JsonText((data,))


class _Nest(int):
    """The depth of an object already read (what `_CHECKER` keeps instead of it)."""


class _TooLarge(ValueError):
    pass


def _depth(value: object) -> int:
    if type(value) is _Nest:
        return value
    if type(value) is list:
        return 1 + max(map(_depth, value), default=0)
    return 0


def _object_depth(pairs: list) -> _Nest:
    return _Nest(1 + max((_depth(item) for _key, item in pairs), default=0))


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise _TooLarge(text)
    return value


_CHECKER = json.JSONDecoder(
    object_pairs_hook=_object_depth, parse_float=_finite_float, parse_constant=_refuse_constant
)
TOO_LARGE_NUMBER = "The body holds a number too large to store (such as 1e999)."
