"""The data mapper's live preview: the request the request form would send for the first
record of the sample (method, URL, body), worked out from the form's values.

No job code runs in the web process: the form's values are literals (text, numbers, JSON) or
paths into the input (`data.name`), so the preview reads those paths out of the sample with
plain dict/list lookups. That is exactly what the runtime's `S.data.name` does, without
compiling or evaluating anything an analyst typed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from app.services.errors import Invalid
from app.services.parsing import kind_of
from app.services.studio import request_builder
from app.services.studio.request_builder import ParamField, Value

HTTP_OPERATIONS = {"get", "post", "put", "patch", "delete", "request"}
MAX_SHOWN = 20_000  # characters of the body shown; the rest is cut with a note


class _Missing(Exception):
    """A path the sample does not have; the message says what it has instead."""


@dataclass
class Preview:
    """What the preview shows: the request for the first record, or why there is none."""

    method: str = ""
    url: str = ""
    relative: bool = False  # the URL is joined to the credential's base URL
    body: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)  # query, headers, other args
    record: str = ""  # "record 1 of 3" inside Repeat for each
    problem: str = ""


def preview(adaptor: str, operation: str, form, state: dict | None) -> Preview:
    """The request the form describes for the first record of `state` (Invalid is turned
    into a problem the preview states, never raised: the preview follows typing)."""
    if state is None:
        return Preview(problem="Choose or paste a sample to see the request it would send.")
    try:
        fields = request_builder.param_fields(adaptor, operation)
        values = request_builder.values_from_form(fields, form)
        current, record = _first_record(state, (form.get("each") or "").strip())
        args = {f.name: _resolve(f, values.get(f.name), current) for f in fields}
    except (Invalid, _Missing) as error:
        return Preview(problem=getattr(error, "message", None) or str(error))
    args = {name: value for name, value in args.items() if value is not _UNSET}
    result = Preview(record=record)
    if adaptor.split("@", 1)[0] == "http" and operation in HTTP_OPERATIONS:
        method = args.pop("method", operation) if operation == "request" else operation
        result.method = str(method).upper()
        path = args.pop("path", "")
        result.url = str(path)
        result.relative = not result.url.lower().startswith(("http://", "https://"))
        body = args.pop("body", _UNSET) if "body" in args else args.pop("form", _UNSET)
        if body is not _UNSET:
            result.body = _shown(body)
    else:
        result.method = operation
    result.details = [(name, _shown(value)) for name, value in args.items()]
    return result


_UNSET = object()


def _first_record(state: dict, each: str) -> tuple[dict, str]:
    if not each:
        return state, ""
    items = read_path(state, each)
    if not isinstance(items, list):
        raise _Missing(f"“Repeat for each” needs a list, but {each} is {kind_of(items)}.")
    if not items:
        raise _Missing(f"{each} is an empty list in the sample: nothing would be sent.")
    return {**state, "data": items[0]}, f"record 1 of {len(items)}"


def _resolve(param: ParamField, value: Value | None, state: dict) -> object:
    if value is None:
        return _UNSET
    text = (value.value or "").strip()
    if value.mode == "input":
        return read_path(state, text) if text else _UNSET
    if value.mode == "fields":
        rows = [r for r in value.rows if str(r.get("key", "")).strip()]
        return {
            str(r["key"]).strip(): _resolve(
                param, Value(r.get("mode") or "text", r["value"]), state
            )
            for r in rows
        } or _UNSET
    if value.mode == "list":
        resolved = [
            _resolve(param, Value(r.get("mode") or "text", r["value"]), state) for r in value.rows
        ]
        return [item for item in resolved if item is not _UNSET] or _UNSET
    code = request_builder.code_for(param, value)  # checks numbers, yes/no and JSON as Insert does
    if code is None:
        return _UNSET
    if value.mode in ("text", "choice"):
        return value.value
    if value.mode == "number":
        return float(text) if "." in text or "e" in text.lower() else int(float(text))
    if value.mode == "bool":
        return text == "true"
    return json.loads(text)  # "json": already checked by _code


def read_path(state: object, path: str) -> object:
    """The value at `data.patients.0.name` in the sample, or _Missing saying what is there."""
    parts = [p for p in path.strip().split(".") if p != ""]
    if parts and parts[0] in ("S", "state"):
        parts = parts[1:]
    value, walked = state, []
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            where = ".".join(walked) or "the input"
            if isinstance(value, dict):
                has = ", ".join(list(value)[:12]) or "nothing"
                raise _Missing(
                    f"The sample has no {'.'.join([*walked, part])}. {where} has: {has}."
                )
            raise _Missing(
                f"The sample has no {'.'.join([*walked, part])}: {where} is {kind_of(value)}."
            )
        walked.append(part)
    return value


def _shown(value: object) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_SHOWN:
        return text[:MAX_SHOWN] + "\n… (cut: the rest is not shown)"
    return text
