"""Template filters: times, durations and short ids, the same on every page.

Times are written with a 24-hour clock unless the signed-in user chose 12-hour on their
profile (users.time_format); every filter that writes a clock time asks `_twelve_hour`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Flask, has_request_context
from flask_login import current_user

from app.services import time_zones
from app.services.triggers import cron_words as cron_phrases


def register(app: Flask) -> None:
    """Add the filters to Jinja."""
    app.add_template_filter(relative_time)
    app.add_template_filter(exact_time)
    app.add_template_filter(clock)
    app.add_template_filter(date_and_clock)
    app.add_template_filter(cron_words)
    # The time zone picker's list (macros/time_zone.html), wherever a page shows one.
    app.add_template_global(time_zones.names, "time_zone_names")
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


def time_format() -> str:
    """The clock the signed-in user chose: "12h", else "24h"."""
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return "12h" if getattr(current_user, "time_format", "24h") == "12h" else "24h"
    return "24h"


def _twelve_hour() -> bool:
    return time_format() == "12h"


def clock(moment: datetime | None, seconds: bool = False, millis: bool = False) -> str:
    """The time of day as written on the page: '14:05' (or '2:05 PM'); seconds and
    milliseconds ('14:05:09.123', for log lines) when asked."""
    if moment is None:
        return ""
    rest = f":{moment:%S}" if seconds or millis else ""
    rest += f".{moment.microsecond // 1000:03d}" if millis else ""
    if _twelve_hour():
        return f"{moment.hour % 12 or 12}:{moment:%M}{rest} {'AM' if moment.hour < 12 else 'PM'}"
    return f"{moment:%H:%M}{rest}"


def date_and_clock(moment: datetime | None) -> str:
    """'Mon 02 Mar 2026, 14:05' in the moment's own zone (a cron tick, a local time)."""
    return "" if moment is None else f"{moment:%a %d %b %Y}, {clock(moment)}"


def exact_time(moment: datetime | None) -> str:
    """The exact UTC time, for a hover title."""
    if moment is None:
        return ""
    moment = _aware(moment).astimezone(UTC)
    return f"{moment:%Y-%m-%d} {clock(moment, seconds=True)} UTC"


def cron_words(expression: str | None, timezone: str | None = "UTC") -> str:
    """A cron expression in words ("every day at 02:00 UTC"), in the user's time format."""
    return cron_phrases.describe(expression or "", timezone or "UTC", time_format())


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
