"""Reading and checking data for the common operations: JSONPath, the next state, `validate`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jsonschema
from jsonpath_ng.ext import parse as parse_jsonpath

from workers.runtime.errors import JobError, StateError
from workers.runtime.lazy import operation, resolve

Operation = Callable[[dict], dict]
MAX_LISTED_ERRORS = 20


@functools.lru_cache(maxsize=256)
def _compiled(path: str) -> Any:
    try:
        return parse_jsonpath(path)
    except Exception as exc:  # jsonpath-ng raises its own lexer and parser errors
        if "Ferry sandbox" in str(exc):
            raise  # the sandbox refused something the parser did: not the path's fault
        raise JobError(
            f"{path!r} is not a valid JSONPath ({exc}); e.g. '$.data.items[*]'",
            code="bad_argument",
            details={"problem": "not a valid JSONPath", "value": path[:200]},
        ) from None


def warm_up() -> None:
    """Load the JSONPath parser's tables once (about 5 ms): the sandbox server calls this
    before forking, so a step's first path costs a parse, not a table load."""
    parse_jsonpath("$.warm_up[*]")


def select(path: str, document: Any) -> list:
    """Every value a JSONPath matches in `document`, in order."""
    return [match.value for match in _compiled(path).find(document)]


def first_match(path: str, document: Any) -> Any:
    """The first value a JSONPath matches in `document`, or None."""
    matches = select(path, document)
    return matches[0] if matches else None


def source(items: Any, state: dict, what: str) -> list:
    """The items an operation goes through: a JSONPath string over the state, or a list."""
    if isinstance(items, str):
        return select(items, state)
    value = resolve(items, state)
    if isinstance(value, tuple):
        return list(value)
    if not isinstance(value, list):
        raise JobError(
            f"{what} needs a list or a JSONPath string (e.g. '$.data[*]'), but got "
            f"{type(value).__name__}",
            code="wrong_type",
            details={
                "operation": what,
                "expected": "a list or a JSONPath string",
                "got": type(value).__name__,
            },
        )
    return value


def next_state(result: Any, what: str) -> dict:
    """`result` if it is a state, else a StateError naming `what` returned it."""
    if result is None:
        raise StateError(
            f"{what} returned None: return the state",
            code="returned_none",
            details={"inside": what},
        )
    if not isinstance(result, dict):
        got = type(result).__name__
        raise StateError(
            f"{what} returned {got}, not the state (a dict)",
            code="returned_not_state",
            details={"inside": what, "got": got},
        )
    return result


def _located(value: Any, state: dict, what: str) -> Any:
    # A string names a place in the state ("data", "$.form.answers"); anything else is the value.
    value = resolve(value, state)
    if not isinstance(value, str):
        return value
    path = value if value.startswith("$") else f"$.{value}"
    matches = select(path, state)
    if not matches:
        raise JobError(
            f"validate found no {what} at {path!r}",
            code="bad_argument",
            details={"problem": f"no {what} at {path}"},
        )
    return matches[0]


def validate(schema: Any = "schema", path: Any = "data") -> Operation:
    """Check a value against a JSON Schema (draft 2020-12 unless the schema says otherwise).

    `schema` is a schema object or where to find one in the state ("schema", the default,
    means state["schema"]); `path` is where the value is ("data" by default) or the value
    itself. Unlike OpenFn, which collects errors in state.validationErrors, a value that does
    not match fails the step with every problem listed (path and message). Schemas are not
    fetched from URLs: the common adaptor makes no network calls.
    """

    @operation
    def run(state: dict) -> dict:
        document = _located(schema, state, "schema")
        if not isinstance(document, dict | bool):
            raise JobError(
                f"validate needs a JSON Schema object, not {type(document).__name__}",
                code="wrong_type",
                details={"expected": "a JSON Schema object", "got": type(document).__name__},
            )
        validator_class = jsonschema.validators.validator_for(
            document, default=jsonschema.Draft202012Validator
        )
        try:
            validator_class.check_schema(document)
        except jsonschema.SchemaError as exc:
            raise JobError(
                f"the schema is not a valid JSON Schema: {exc.message}",
                code="bad_argument",
                details={"problem": "the schema is not a valid JSON Schema"},
            ) from None
        value = _located(path, state, "value")
        where = path if isinstance(path, str) else "value"
        errors = sorted(validator_class(document).iter_errors(value), key=lambda e: e.json_path)
        if errors:
            lines = [f"- {where}{e.json_path[1:]}: {e.message}" for e in errors]
            more = len(lines) - MAX_LISTED_ERRORS
            listed = lines[:MAX_LISTED_ERRORS] + ([f"- ... and {more} more"] if more > 0 else [])
            raise JobError(
                f"{where} does not match the schema ({len(errors)} problem(s)):\n"
                + "\n".join(listed),
                code="validation_failed",
                details={"count": len(errors), "first": lines[0][2:][:300]},
            )
        return state

    return run
