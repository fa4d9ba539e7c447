"""Small helpers for the state that flows through a step: copying, cleaning, JSON checks."""

from __future__ import annotations

import datetime
import decimal
import math
from copy import deepcopy
from typing import Any

from workers.runtime.errors import StateError
from workers.runtime.lazy import show_path

_JSON_SCALARS = (str, int, bool, type(None))
_KEY_TYPES = (str, int, float, bool, type(None))  # json.dumps turns these keys into strings


def initial_state(state: object, copy: bool = True) -> dict:
    """A deep copy of the input state (the state itself without `copy`), with `data` ({})
    and `references` ([]) present."""
    if not isinstance(state, dict):
        raise StateError(
            f"The input state must be an object (a dict), not {type(state).__name__}.",
            code="input_not_object",
            details={"got": type(state).__name__},
        )
    copied = deepcopy(state) if copy else state
    copied.setdefault("data", {})
    copied.setdefault("references", [])
    return copied


def without_configuration(state: dict) -> dict:
    """The state minus its `configuration` (the credential), which never leaves a step."""
    return {key: value for key, value in state.items() if key != "configuration"}


def check_json(state: dict) -> None:
    """Raise StateError naming the first value that JSON cannot carry."""
    _check(state, ("state",), set())


def _where(path: tuple) -> str:
    return show_path(path[0], path[1:])


def _check(value: Any, path: tuple, open_containers: set[int]) -> None:
    if isinstance(value, _JSON_SCALARS):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StateError(f"{_where(path)} is {value}: JSON has no NaN or infinity; use None.")
        return
    if isinstance(value, dict | list | tuple):
        if id(value) in open_containers:
            raise StateError(f"{_where(path)} contains itself: the state must be a tree.")
        open_containers.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, _KEY_TYPES):
                    raise StateError(
                        f"{_where(path)} has a {type(key).__name__} key {key!r}: keys must be "
                        "strings."
                    )
                _check(item, (*path, key if isinstance(key, str) else str(key)), open_containers)
        else:
            for index, item in enumerate(value):
                _check(item, (*path, index), open_containers)
        open_containers.discard(id(value))
        return
    raise StateError(f"{_where(path)} is {_describe(value)}: {_advice(value)}")


def _describe(value: Any) -> str:
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _advice(value: Any) -> str:
    if isinstance(value, datetime.date | datetime.time):
        return "convert it to a string, e.g. value.isoformat()."
    if isinstance(value, decimal.Decimal):
        return "convert it to a float or a string."
    if isinstance(value, bytes | bytearray):
        return "decode it to a string (value.decode()) or base64-encode it."
    if isinstance(value, set | frozenset):
        return "convert it to a list (sorted(value))."
    if callable(value):
        return "functions cannot be stored in the state; store their result."
    return "the state may only hold JSON values (dict, list, str, int, float, bool, None)."
