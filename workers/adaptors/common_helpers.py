"""Helpers of the common adaptor: they compute values, they are not operations.

Marked with `helper`, so the compiler refuses them as top-level statements; use them inside
operation arguments (`merge("$.data[*]", fields(field("org", data_value("org"))))`) and
inside functions (`fn(lambda state: {**state, "data": chunk(state["data"], 50)})`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from workers.adaptors.common_data import first_match
from workers.runtime.lazy import helper


@helper
def field(key: str, value: Any) -> tuple[str, Any]:
    """A (key, value) pair for `fields`."""
    return (key, value)


@helper
def fields(*pairs: tuple[str, Any]) -> dict:
    """An object from `field(...)` pairs."""
    return dict(pairs)


@helper
def source_value(path: str) -> Callable[[dict], Any]:
    """A lazy value: the first match of a JSONPath over the whole state (None if nothing)."""
    return lambda state: first_match(path, state)


@helper
def data_path(path: str) -> str:
    """A JSONPath under `data`: "id" and "$.id" become "$.data.id"."""
    rest = re.sub(r"^[$.]*", "", path)
    return f"$.data.{rest}" if rest and not rest.startswith("[") else f"$.data{rest}"


@helper
def data_value(path: str) -> Callable[[dict], Any]:
    """A lazy value: the first match of a JSONPath under `data` ("id", "$.patient.name")."""
    return source_value(data_path(path))


@helper
def last_reference_value(path: str) -> Callable[[dict], Any]:
    """A lazy value: the first match of a JSONPath in the last entry of `references`."""

    def read(state: dict) -> Any:
        references = state.get("references") or []
        return first_match(path, references[-1]) if references else None

    return read


@helper
def chunk(array: list, size: int) -> list[list]:
    """Split a list into lists of at most `size` items."""
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"chunk size must be a whole number of at least 1, not {size!r}")
    return [array[start : start + size] for start in range(0, len(array), size)]


@helper
def array_to_string(array: list, separator: str = ",") -> str:
    """Join the items as text (None as empty text, True as "true"), like JavaScript's join."""
    return separator.join(_text(item) for item in array)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)
