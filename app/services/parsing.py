"""Reading JSON and YAML that people and other systems send, refusing what Ferry cannot keep.

Every place that accepts a document (the API, the import form, the builder, raw credentials)
parses it here, so a bad one is refused the same way everywhere: an `Invalid` naming the
field and saying what to fix (with the line and column when the parser knows them), never a
crash. Refused on top of syntax errors: nesting deeper than `MAX_DEPTH` (deeper bodies crash
recursive code later, in Python and in PostgreSQL), `NaN`/`Infinity` and numbers too large
for a float (PostgreSQL's jsonb has no such values), and NUL characters (PostgreSQL text and
jsonb cannot hold them). YAML is also refused when its anchors and aliases expand to far
more values than its text holds ("billion laughs"), which would exhaust time and memory.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

from app.services.errors import Invalid

# Real payloads (DHIS2 events, FHIR bundles, CommCare forms) stay well under 30 levels.
MAX_DEPTH = 64


def load_json(text: str | bytes, *, field: str, what: str = "The JSON") -> Any:
    """The value `text` holds, or Invalid(field, ...) saying what is wrong with it."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Invalid(field, f"{what} is not UTF-8 text (byte {error.start}).") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite as error:
        raise Invalid(field, f"{what} holds {error}, which JSON cannot store.") from None
    except json.JSONDecodeError as error:
        raise Invalid(
            field,
            f"{what} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).",
        ) from None
    except RecursionError:
        raise Invalid(field, _too_deep(what)) from None
    check_storable(value, field=field, what=what)
    return value


def load_yaml(text: str, *, field: str, what: str = "The document") -> Any:
    """The value a YAML (or JSON) text holds, or Invalid(field, ...) saying what is wrong."""
    try:
        value = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = error.problem or error.context or "it cannot be read"
        raise Invalid(field, f"{what} is not valid YAML: {problem}{where}.") from None
    except yaml.YAMLError as error:
        raise Invalid(field, f"{what} is not valid YAML: {error}.") from None
    except RecursionError:
        raise Invalid(field, _too_deep(what)) from None
    # Without aliases every value takes at least a character of text; far more values than
    # characters means aliases multiplied them.
    check_storable(value, field=field, what=what, max_values=2 * len(text) + 100)
    return value


def read_document(source: object, *, what: str = "The document") -> Any:
    """A document given as UTF-8 bytes, YAML/JSON text or an already-parsed value (the API's
    JSON body), read and checked the same way whichever came: `Invalid` at the document's
    root (field "") when it cannot be."""
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Invalid("", f"{what} is not UTF-8 text (byte {error.start}).") from None
    if isinstance(source, str):
        return load_yaml(source, field="", what=what)
    check_storable(source, field="", what=what)
    return source


def check_storable(
    value: Any, *, field: str, what: str = "The JSON", max_values: int | None = None
) -> None:
    """Invalid unless `value` nests at most MAX_DEPTH levels and holds no NUL or non-finite
    number (nor more than `max_values` values, when given). Iterative, so a deep value cannot
    exhaust the stack while being checked."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    seen = 0
    while pending:
        item, depth = pending.pop()
        seen += 1
        if max_values is not None and seen > max_values:
            raise Invalid(
                field,
                f"{what} expands to too many values: its anchors and aliases (*name) repeat "
                "the same values over and over. Write the values out instead.",
            )
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise Invalid(field, _too_deep(what))
            for key, child in item.items():
                if isinstance(key, str) and "\x00" in key:
                    raise Invalid(field, _nul(what))
                pending.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            if depth > MAX_DEPTH:
                raise Invalid(field, _too_deep(what))
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise Invalid(field, _nul(what))
        elif isinstance(item, float) and not math.isfinite(item):
            raise Invalid(field, f"{what} holds {item}, which JSON cannot store.")


def kind_of(value: Any) -> str:
    """What sort of value this is, in words for a message ("a number", "a list")."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "text"
    return "empty" if value is None else f"a {type(value).__name__}"


def nested_deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when objects and lists in `value` nest more than `limit` levels. Level by level
    and containers only: about 9 us for a typical 1 KB webhook body, cheap enough for the
    accept path."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
    return False


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NonFinite(f"the number {text[:40]} (too large)")
    return number


def _too_deep(what: str) -> str:
    return f"{what} is nested too deeply: at most {MAX_DEPTH} levels of objects and lists."


def _nul(what: str) -> str:
    return f"{what} holds a NUL character (\\u0000), which Ferry cannot store. Remove it."
