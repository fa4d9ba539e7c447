"""The common operations every job has, after OpenFn's language-common.

Factories return operations (callables state -> state, marked with `operation`). Arguments may
be lazy (`S.data.x` in job code, `lambda state: ...`, `data_value("x")`): they are resolved
against the state when the operation runs. A string where a collection is expected is a
JSONPath over the whole state ("$.data.items[*]"), as in OpenFn.

The helpers in `common_helpers` (`chunk`, `field`, `data_value`, ...) compute values for use
inside arguments and functions; the compiler refuses them as top-level operations.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from workers.adaptors.common_csv import parse_csv
from workers.adaptors.common_data import next_state, source, validate
from workers.adaptors.common_dates import cursor
from workers.adaptors.common_helpers import (
    array_to_string,
    chunk,
    data_path,
    data_value,
    field,
    fields,
    last_reference_value,
    source_value,
)
from workers.runtime.errors import JobError, add_details, tag
from workers.runtime.lazy import LazyArgument, LazyPath, operation, resolve
from workers.runtime.logs import emit

Operation = Callable[[dict], dict]


def fn(func: Callable[[dict], dict]) -> Operation:
    """An operation that calls func(state) and returns its result; also works as @fn."""
    if not callable(func):
        raise tag(
            TypeError(f"fn needs a function that takes the state and returns it, not {func!r}"),
            "wrong_type",
            operation="fn",
            expected="a function",
            got=type(func).__name__,
        )

    @operation
    def run(state: dict) -> dict:
        return func(state)

    run.__name__ = getattr(func, "__name__", "fn")
    return run


def fn_if(condition: Any, then: Operation) -> Operation:
    """Run `then` only when `condition` (a value or lazy value) is truthy."""

    @operation
    def run(state: dict) -> dict:
        return then(state) if resolve(condition, state) else state

    return run


def each(items: Any, then: Operation) -> Operation:
    """Run `then` once per item, in order, with `data` set to the item and `index` to its position.

    `items` is a JSONPath string ("$.data.patients[*]") or a list (or lazy list). The state each
    run returns (references, cursors, ...) carries into the next one. Unlike OpenFn, whose
    `each` returns the last iteration's state as is, Ferry then puts the outer `data` (and
    `index`, or its absence) back, so the next operation sees the collection again.
    """
    if items is None or items == "":
        raise tag(
            TypeError("each needs a list or a JSONPath string as its first argument"),
            "wrong_type",
            operation="each",
            expected="a list or a JSONPath string",
            got=type(items).__name__,
        )
    if not callable(then):
        raise tag(
            TypeError("each needs an operation as its second argument, e.g. each(S.data, fn(...))"),
            "wrong_type",
            operation="each",
            expected="an operation",
            got=type(then).__name__,
        )

    @operation
    def run(state: dict) -> dict:
        current = state
        for index, item in enumerate(source(items, state, "each")):
            try:
                result = then({**current, "data": item, "index": index})
                current = next_state(result, f"the operation inside each (item {index})")
            except MemoryError:
                raise
            except Exception as exc:
                add_details(exc, record=index + 1)  # people count records from 1
                raise
        restored = {**current, "data": state.get("data")}
        if "index" in state:
            restored["index"] = state["index"]
        else:
            restored.pop("index", None)
        return restored

    return run


def combine(*operations: Operation) -> Operation:
    """Run several operations in sequence as one (each result is merged into the state)."""

    @operation
    def run(state: dict) -> dict:
        current = state
        for position, op in enumerate(operations, start=1):
            result = next_state(op(current), f"operation {position} inside combine")
            current = {**current, **result}
        return current

    return run


def map(items: Any, callback: Callable[..., Any]) -> Operation:
    """Set `data` to [callback(item, index, state) for each item] (like OpenFn's `map`).

    The callback may take fewer parameters (just the item, or item and index).
    """

    @operation
    def run(state: dict) -> dict:
        values = source(items, state, "map")
        return {**state, "data": [_call(callback, v, i, state) for i, v in enumerate(values)]}

    return run


def group(items: Any, key: Any, callback: Callable[[dict], dict] | None = None) -> Operation:
    """Set `data` to {key: [items]} grouping items by a dotted key path ("address.city") or a
    function of the item. Items without the key are left out (as in OpenFn); keys become
    strings as JSON writes them (True -> "true"). `callback(state)`, if given, gets the result.
    """

    @operation
    def run(state: dict) -> dict:
        by = resolve(key, state) if isinstance(key, LazyArgument | LazyPath) else key
        groups: dict[str, list] = {}
        for item in source(items, state, "group"):
            found = by(item) if callable(by) else _get_path(item, str(by))
            if found is not _MISSING:
                groups.setdefault(_key_text(found), []).append(item)
        result = {**state, "data": groups}
        return next_state(callback(result), "the group callback") if callback else result

    return run


def as_(key: Any, then: Operation) -> Operation:
    """Run `then` and store the `data` it produced under state[key], keeping `data` as it was."""

    @operation
    def run(state: dict) -> dict:
        name = resolve(key, state)
        previous = state.get("data")
        result = next_state(then(state), f"the operation inside as_({name!r}, ...)")
        return {**state, **result, "data": previous, name: result.get("data")}

    return run


def merge(path: Any, fields: Any) -> Operation:
    """Set `data` to the items at `path` (JSONPath or list), each with `fields` merged in."""

    @operation
    def run(state: dict) -> dict:
        extra = resolve(fields, state)
        if not isinstance(extra, dict):
            raise JobError(
                f"merge needs fields as an object (a dict), not {type(extra).__name__}",
                code="wrong_type",
                details={"expected": "an object", "got": type(extra).__name__},
            )
        merged = []
        for item in source(path, state, "merge"):
            if not isinstance(item, dict):
                raise JobError(
                    f"merge can only add fields to objects, not to {item!r}",
                    code="wrong_type",
                    details={"expected": "a list of objects", "got": type(item).__name__},
                )
            merged.append({**item, **extra})
        return {**state, "data": merged}

    return run


def log(*args: Any) -> Operation:
    """Write one job log line: the resolved arguments joined by spaces (objects as JSON)."""

    @operation
    def run(state: dict) -> dict:
        parts = [resolve(arg, state) for arg in args]
        text = " ".join(p if isinstance(p, str) else json.dumps(p, default=str) for p in parts)
        emit("info", "job", text)
        return state

    return run


def assert_(expression: Any, error_message: Any = None) -> Operation:
    """Fail the step with `error_message` when `expression` (a value or lazy value) is falsy."""

    @operation
    def run(state: dict) -> dict:
        value = resolve(expression, state)
        if not value:
            message = resolve(error_message, state)
            said = str(message) if message else ""
            raise JobError(
                said or f"assertion failed: the value was {value!r}",
                code="assertion_failed",
                details={"said": said[:500]} if said else {},
            )
        return state

    return run


# --- Internals ---------------------------------------------------------------------------

_MISSING = object()


def _call(callback: Callable[..., Any], *args: Any) -> Any:
    # OpenFn passes (item, index, state); Python callbacks may accept fewer.
    try:
        parameters = list(inspect.signature(callback).parameters.values())
    except (TypeError, ValueError):  # builtins such as str have no signature
        return callback(args[0])
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return callback(*args)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return callback(*args[: len(positional)])


def _get_path(item: Any, path: str) -> Any:
    current = item
    for part in re.findall(r"[^.\[\]]+", path):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _key_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


OPERATIONS: dict[str, Callable[..., Any]] = {
    "fn": fn,
    "fn_if": fn_if,
    "fnIf": fn_if,
    "each": each,
    "combine": combine,
    "map": map,
    "group": group,
    "as_": as_,
    "cursor": cursor,
    "field": field,
    "fields": fields,
    "merge": merge,
    "data_value": data_value,
    "dataValue": data_value,
    "data_path": data_path,
    "dataPath": data_path,
    "source_value": source_value,
    "sourceValue": source_value,
    "last_reference_value": last_reference_value,
    "lastReferenceValue": last_reference_value,
    "log": log,
    "assert_": assert_,
    "validate": validate,
    "parse_csv": parse_csv,
    "parseCsv": parse_csv,
    "chunk": chunk,
    "array_to_string": array_to_string,
    "arrayToString": array_to_string,
}
