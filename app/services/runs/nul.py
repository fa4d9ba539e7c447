"""NUL characters in what a run stores: escaped, never a lost run.

PostgreSQL refuses the NUL character (U+0000) in text columns and inside jsonb strings, yet a
source system may well send one, and a step that logs it or returns it in its state must not
end its run as `exception`. Every run write (`app.services.runs.writes.write`) passes its
parameters through `escaped_part`, which replaces each NUL with the six visible characters
`\\u0000`: a reader sees where it was, unlike with a dropped character or U+FFFD. The price:
a stored `\\u0000` reads the same as those six characters sent on purpose, and two keys that
differ only by it keep the last value.

Inputs are not escaped here: a webhook body with a NUL is refused with a 400 before it is
stored (`app.services.parsing`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection

from app.json_text import JsonText

NUL = "\x00"
ESCAPE = "\\u0000"
# How json.dumps writes a NUL inside a string, whatever ensure_ascii says.
_IN_JSON = "\\u0000"


def escaped(value):
    """`value` with NUL replaced by `\\u0000` in every string, dict keys included (lists,
    tuples and dicts are copied); `value` itself when it is not a container or a string."""
    if isinstance(value, str):
        return value.replace(NUL, ESCAPE) if NUL in value else value
    if isinstance(value, dict):
        return {escaped(key): escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(item) for item in value]
    return value


def escaped_json(value):
    """A JSON value with NUL escaped; `value` itself (not a copy) when it holds none.

    One serialisation, at C speed, finds the rare NUL and spares walking every output state
    in Python; the data's own backslash-u0000 text also matches, and then only costs a walk
    that changes nothing."""
    if isinstance(value, JsonText):  # a large state kept as text: searched, not parsed
        return escaped(value.parsed()) if value.contains(_IN_JSON.encode()) else value
    if value is None or _IN_JSON not in json.dumps(value):
        return value
    return escaped(value)


def escaped_params(params: dict, json_names: Collection[str]) -> dict:
    """Statement parameters with NUL escaped in text and in JSON values (`json_names`);
    `params` itself when none holds a NUL."""
    changed = {}
    for name, value in params.items():
        if name in json_names:
            clean = escaped_json(value)
        elif isinstance(value, str):
            clean = escaped(value)
        else:
            continue
        if clean is not value:
            changed[name] = clean
    return {**params, **changed} if changed else params


def escaped_part(part, json_names: Collection[str]):
    """A write's part (`writes.Part`) with NUL escaped in its parameters and rows; the part
    itself when none holds a NUL."""
    params = escaped_params(part.params, json_names)
    rows = part.rows
    if rows:
        clean_rows = [escaped_params(row, json_names) for row in rows]
        if any(clean is not row for clean, row in zip(clean_rows, rows, strict=True)):
            rows = clean_rows
    if params is part.params and rows is part.rows:
        return part
    return dataclasses.replace(part, params=params, rows=rows)
