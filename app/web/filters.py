"""Template filters: times, durations and short ids, the same on every page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Flask


def register(app: Flask) -> None:
    """Add the filters to Jinja."""
    app.add_template_filter(relative_time)
    app.add_template_filter(exact_time)
    app.add_template_filter(short_id)
    app.add_template_filter(duration)
    # Lets a page link to an area only when that area's route exists (tabs, menus).
    app.add_template_global(lambda endpoint: endpoint in app.view_functions, "has_endpoint")


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    """'just now', '3 min ago', '2 h ago', '5 days ago'."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - _aware(moment)).total_seconds()
    if seconds < 45:
        return "just now"
    for limit, size, unit in ((3600, 60, "min"), (86400, 3600, "h"), (86400 * 60, 86400, "days")):
        if seconds < limit:
            value = round(seconds / size)
            return f"{value} {'day' if unit == 'days' and value == 1 else unit} ago"
    return _aware(moment).strftime("%d %b %Y")


def exact_time(moment: datetime | None) -> str:
    """The exact UTC time, for a hover title."""
    return "" if moment is None else _aware(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_id(value: uuid.UUID | str) -> str:
    """The first 8 characters of an id."""
    return str(value)[:8]


def duration(seconds: float | None) -> str:
    """'12 ms', '1.2 s', '3 min 4 s'."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
