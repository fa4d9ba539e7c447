"""`cursor` and the natural-language dates it understands ("today", "7 days ago", ...)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from workers.runtime.lazy import StateKeyError, operation, resolve
from workers.runtime.logs import emit

_AGO = re.compile(r"^(\d+)\s+(minute|hour|day|week)s?\s+ago$")
# "start" is when the first cursor of this step ran, as OpenFn's cursorStart; each step runs
# in its own sandbox process, so it does not leak into other steps.
_started: dt.datetime | None = None


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as JavaScript's toISOString writes it."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def natural_date(text: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """The moment a natural-language date means, or None when `text` is not one.

    "now"/"end": this moment; "start": when the step's first cursor ran; "today" and
    "yesterday": midnight UTC; "N minutes/hours ago": that exact moment; "N days/weeks ago":
    midnight UTC of that day (so "1 day ago" is "yesterday").
    """
    global _started
    now = now or dt.datetime.now(dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    word = text.strip().lower()
    if word in ("now", "end"):
        return now
    if word == "start":
        _started = _started or now
        return _started
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - dt.timedelta(days=1)
    match = _AGO.match(word)
    if match is None:
        return None
    count, unit = int(match[1]), match[2]
    if unit in ("minute", "hour"):
        return now - dt.timedelta(**{f"{unit}s": count})
    return midnight - dt.timedelta(days=count * (7 if unit == "week" else 1))


def cursor(
    value: Any,
    key: str = "cursor",
    default_value: Any = None,
    format: Callable[[Any], Any] | None = None,
) -> Callable[[dict], dict]:
    """Set state[key] (default "cursor") to `value`, or to `default_value` if it is None, "" or
    missing from the state (`cursor(S.cursor, default_value="today")` on a first run).

    Natural-language dates become ISO 8601 UTC strings ("today" -> "2024-05-01T00:00:00.000Z");
    a `format` function receives the datetime (or the value, when it is not a date) and its
    result is stored instead. Other values (page numbers, ISO strings) are stored as they are.
    """

    @operation
    def run(state: dict) -> dict:
        global _started
        _started = _started or dt.datetime.now(dt.UTC)
        try:
            chosen = resolve(value, state)
        except StateKeyError:
            # cursor(S.cursor, default_value="today") on a first run, before any cursor exists.
            if default_value is None:
                raise
            chosen = None
        if chosen is None or chosen == "":
            chosen = resolve(default_value, state)
        name = resolve(key, state)
        moment = natural_date(chosen) if isinstance(chosen, str) else None
        if moment is not None:
            stored = format(moment) if format else iso(moment)
            emit("info", "adaptor", f"Setting {name} {chosen!r} to {stored}")
        else:
            stored = format(chosen) if format else chosen
            emit("info", "adaptor", f"Setting {name} to {stored!r}")
        return {**state, name: stored}

    return run
