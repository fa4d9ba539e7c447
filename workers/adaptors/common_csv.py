"""`parse_csv`: CSV text into rows, as OpenFn's parseCsv with csv-parse's defaults."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from workers.adaptors.common_data import next_state
from workers.runtime.errors import JobError
from workers.runtime.lazy import operation, resolve

DEFAULTS: dict[str, Any] = {
    "delimiter": ",",
    "quote": '"',
    "columns": True,
    "bom": True,
    "trim": True,
    "skip_empty_lines": True,
    "chunk_size": None,
}
_ALIASES = {"chunkSize": "chunk_size", "skipEmptyLines": "skip_empty_lines"}


def parse_csv(
    csv_data: Any,
    options: Any = None,
    callback: Callable[[dict, list], dict] | None = None,
) -> Callable[[dict], dict]:
    """Parse CSV text into rows: with a header (columns=True, the default) a list of objects.

    Options: delimiter (","), quote ('"'), columns (True: the first row names the columns; a
    list of names; False: rows stay lists), trim (True: strip spaces around fields),
    skip_empty_lines (True), bom (True: drop a leading byte-order mark), chunk_size (all rows
    at once). Without `callback` the rows become `data` and the previous data is appended to
    `references`; with it, callback(state, rows) returns the next state, once per chunk.
    """

    @operation
    def run(state: dict) -> dict:
        settings = _settings(resolve(options, state))
        rows = _records(resolve(csv_data, state), settings)
        size = settings["chunk_size"] or max(len(rows), 1)
        current = state
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            if callback is not None:
                current = next_state(callback(current, batch), "the parse_csv callback")
            else:
                references = [*current.get("references", []), current.get("data")]
                current = {**current, "data": batch, "references": references}
        return current

    return run


def _settings(options: Any) -> dict[str, Any]:
    given = dict(options or {})
    settings = dict(DEFAULTS)
    for name, value in given.items():
        name = _ALIASES.get(name, name)
        if name not in DEFAULTS:
            known = ", ".join(DEFAULTS)
            raise JobError(
                f"parse_csv has no option {name!r}; the options are {known}", code="bad_argument"
            )
        settings[name] = value
    size = settings["chunk_size"]
    if size is not None and (not isinstance(size, int) or size < 1):
        raise JobError(
            f"parse_csv chunk_size must be a whole number of at least 1, not {size!r}",
            code="bad_argument",
        )
    return settings


def _records(text: Any, settings: dict[str, Any]) -> list:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise JobError(f"parse_csv needs CSV text, not {type(text).__name__}", code="bad_argument")
    if settings["bom"]:
        text = text.removeprefix("\ufeff")
    reader = csv.reader(
        io.StringIO(text), delimiter=settings["delimiter"], quotechar=settings["quote"]
    )
    rows = []
    for row in reader:
        if settings["trim"]:
            row = [value.strip() for value in row]
        if settings["skip_empty_lines"] and (not row or row == [""]):
            continue
        rows.append(row)
    columns = settings["columns"]
    if columns is False or columns is None:
        return rows
    if columns is True:
        if not rows:
            return []
        columns, rows = rows[0], rows[1:]
    names = list(columns)
    records = []
    for number, row in enumerate(rows, start=1):
        if len(row) != len(names):
            raise JobError(
                f"CSV record {number} has {len(row)} field(s) but there are {len(names)} "
                f"column(s) ({', '.join(map(str, names))})"
            )
        records.append(dict(zip(names, row, strict=True)))
    return records
