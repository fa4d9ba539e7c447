"""A cron expression in words ("every day at 02:00 Africa/Nairobi", "every 15 minutes"), for
the canvas, the trigger panel and the workflows list. Pure: no database, no request.

Only the shapes people write by hand are phrased; anything else (ranges with steps, both a
day of the month and a weekday, seconds fields) is shown as the expression itself, which is
never wrong.
"""

from __future__ import annotations

import re

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_NAMES = {name[:3].lower(): i for i, name in enumerate(WEEKDAYS)}
_MONTH_NAMES = {name[:3].lower(): i + 1 for i, name in enumerate(MONTHS)}
_ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_STEP = re.compile(r"^\*/(\d{1,2})$")
MAX_TIMES = 4  # "at 08:00, 12:00, 16:00 and 20:00"; more is clearer as the expression


class _Unphrased(Exception):
    """The expression has a shape we do not put in words."""


def describe(expression: str, timezone: str = "UTC", time_format: str = "24h") -> str:
    """The schedule in words, or the expression itself when it has no simple phrasing."""
    text = " ".join((expression or "").split())
    try:
        return _describe(_ALIASES.get(text.lower(), text), timezone or "UTC", time_format)
    except _Unphrased:
        return text


def _describe(text: str, zone: str, time_format: str) -> str:
    fields = text.split(" ")
    if len(fields) != 5:
        raise _Unphrased
    minute, hour, dom, month, dow = fields
    days = _days(dom, month, dow)
    every = _interval(minute, hour)
    if every is not None:
        return every if days is None else f"{every} {days[1]}"
    if minute == "*" or _STEP.match(minute):
        return _within_hours(minute, hour, days, zone, time_format)
    hours = _numbers(hour, 0, 23)
    minutes = _numbers(minute, 0, 59)
    if len(hours) * len(minutes) > MAX_TIMES:
        raise _Unphrased
    times = _and([_clock(h, m, time_format) for h in hours for m in minutes])
    return f"{days[0] if days else 'every day'} at {times} {zone}"


def _interval(minute: str, hour: str) -> str | None:
    """'every minute', 'every 15 minutes', 'every hour', 'every 2 hours at 30 past', or None."""
    step = _STEP.match(minute)
    if hour == "*" and (minute == "*" or (step and int(step[1]) == 1)):
        return "every minute"
    if hour == "*" and step and 1 < int(step[1]) < 60:
        return f"every {int(step[1])} minutes"
    if not minute.isdigit() or int(minute) > 59:
        return None
    past = "" if int(minute) == 0 else f" at {int(minute)} minutes past"
    hour_step = _STEP.match(hour)
    if hour == "*" or (hour_step and int(hour_step[1]) == 1):
        return f"every hour{past}"
    if hour_step and 1 < int(hour_step[1]) < 24:
        return f"every {int(hour_step[1])} hours{past}"
    return None


def _within_hours(minute: str, hour: str, days, zone: str, time_format: str) -> str:
    """'every 15 minutes from 09:00 to 17:59 UTC' (a minute step inside an hour range)."""
    match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", hour)
    step = _STEP.match(minute)
    if not match or not (minute == "*" or step):
        raise _Unphrased
    first, last = int(match[1]), int(match[2])
    if not first < last <= 23:
        raise _Unphrased
    size = 1 if minute == "*" else int(step[1])  # type: ignore[index]
    if not 1 <= size < 60:
        raise _Unphrased
    every = "every minute" if size == 1 else f"every {size} minutes"
    last_minute = (59 // size) * size
    span = f"from {_clock(first, 0, time_format)} to {_clock(last, last_minute, time_format)}"
    return f"{every} {span} {zone}{'' if days is None else ', ' + days[1]}"


def _days(dom: str, month: str, dow: str) -> tuple[str, str] | None:
    """None for every day, else the days as a sentence start and as an 'on ...' phrase."""
    if dom == "*" and month == "*" and dow in ("*", "?"):
        return None
    if dom in ("*", "?") and month == "*":
        week = sorted({day % 7 for day in _numbers(dow, 0, 7, _DAY_NAMES)})
        if week == [1, 2, 3, 4, 5]:
            return "every Monday to Friday", "on weekdays (Monday to Friday)"
        if week == [0, 6]:
            return "every Saturday and Sunday", "on Saturdays and Sundays"
        names = [WEEKDAYS[day] for day in (week[1:] + week[:1] if week[0] == 0 else week)]
        return f"every {_and(names)}", f"on {_and([n + 's' for n in names])}"
    if dow not in ("*", "?"):
        raise _Unphrased  # both a day of the month and a weekday: cron means either
    dates = _numbers(dom, 1, 31)
    if len(dates) > MAX_TIMES:
        raise _Unphrased
    if month == "*":
        phrase = f"on the {_and([_ordinal(d) for d in dates])} of every month"
        return phrase, phrase
    months = _numbers(month, 1, 12, _MONTH_NAMES)
    if len(months) != 1 or len(dates) != 1:
        raise _Unphrased
    phrase = f"on {dates[0]} {MONTHS[months[0] - 1]}"
    return f"every year {phrase}", f"every year {phrase}"


def _numbers(field: str, low: int, high: int, names: dict[str, int] | None = None) -> list[int]:
    """The values of a list/range field ("1-5", "mon,fri", "8,17"), sorted; no steps or stars."""
    values: set[int] = set()
    for part in field.split(","):
        ends = part.split("-")
        if len(ends) > 2:
            raise _Unphrased
        numbers = [_number(end, low, high, names) for end in ends]
        if numbers[0] > numbers[-1]:
            raise _Unphrased
        values.update(range(numbers[0], numbers[-1] + 1))
    return sorted(values)


def _number(text: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise _Unphrased
    return int(text)


def _clock(hour: int, minute: int, time_format: str) -> str:
    """'02:00', or '2:00 AM' for someone who chose 12-hour times."""
    if time_format == "12h":
        return f"{(hour % 12) or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"
    return f"{hour:02d}:{minute:02d}"


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
