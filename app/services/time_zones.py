"""IANA time zone names: the list pickers offer, and the one check (with one message) that
every place taking a zone uses: cron triggers in the builder and in imported documents, and
the user's own zone on the profile page."""

from __future__ import annotations

import zoneinfo
from functools import cache

from app.services.errors import Invalid

MAX_LENGTH = 64
EXAMPLE = "Africa/Nairobi"


@cache
def names() -> tuple[str, ...]:
    """Every IANA time zone name this server knows, sorted."""
    # "localtime" and "Factory" are files in the zone folder, not places anyone lives in.
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


@cache
def _by_folded_name() -> dict[str, str]:
    """Lower-case full names and last parts ("nairobi", "new_york") to the zone."""
    found: dict[str, str] = {}
    for name in names():
        found.setdefault(name.lower(), name)
    for name in names():
        # Region zones first so that "Berlin" suggests Europe/Berlin, not a legacy alias.
        if "/" in name and name.split("/")[0] not in {"Etc", "US", "SystemV"}:
            found.setdefault(name.rsplit("/", 1)[1].lower(), name)
    return found


def suggestion(typed: str) -> str:
    """The zone the user probably meant ("nairobi" -> Africa/Nairobi), else an example."""
    folded = typed.strip().replace(" ", "_").lower()
    return _by_folded_name().get(folded, EXAMPLE)


def problem(value: object) -> str | None:
    """Why `value` is not a time zone, in words, or None when it is one."""
    text = value if isinstance(value, str) else ""
    if text in names():
        return None
    if not text.strip():
        return f"Choose a time zone from the list, e.g. {EXAMPLE}."
    shown = "".join(c for c in text.strip() if c.isprintable())[:MAX_LENGTH]
    return f"'{shown}' is not a time zone. Choose one from the list, e.g. {suggestion(shown)}."


def check(value: object, field: str) -> str:
    """`value` when it is a time zone name, else Invalid(field) saying what to choose."""
    message = problem(value)
    if message:
        raise Invalid(field, message)
    return value  # type: ignore[return-value]
