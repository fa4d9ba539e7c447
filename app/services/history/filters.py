"""The history page's filters: parsed from query arguments, turned back into URL arguments.

Filters live in the URL so a filtered view can be bookmarked and shared; this module is the
one place that reads and writes those arguments.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from app.models import WorkOrderState
from app.services.errors import Invalid

STATES = tuple(state.value for state in WorkOrderState)
PLACES = ("id", "input", "logs")
PLACE_LABELS = {"id": "ids", "input": "input data", "logs": "logs"}
DEFAULT_PLACES = ("id", "input")
MIN_TEXT = 3
MAX_TEXT = 200
# Day bounds become timestamps with a few days' slack on either side (see search.py); the
# years 1 and 9999 would overflow, and no work order predates 1900 or outlives 2999.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
SINCE_FORMAT = "%Y-%m-%dT%H:%M"
PAGE_LINK_BROKEN = "This page link is not valid; go back to the first page."


class QueryArgs(Protocol):
    """What the filter needs from a query string (werkzeug's MultiDict has it)."""

    def get(self, key: str, default: str | None = None) -> str | None: ...

    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class HistoryFilter:
    """Which work orders to show. Date bounds are whole UTC days, both ends included."""

    states: tuple[str, ...] = ()
    workflow_id: uuid.UUID | None = None
    received_from: date | None = None
    received_to: date | None = None
    activity_from: date | None = None
    activity_to: date | None = None
    text: str = ""
    places: tuple[str, ...] = field(default=DEFAULT_PLACES)
    # A moment, not a day: the dashboard's "last 24 hours" links open exactly the rows it
    # counted (`since=` in the URL, UTC).
    received_since: datetime | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing narrows the list."""
        return self == HistoryFilter(places=self.places) and not self.text

    def to_args(self) -> dict[str, str | list[str]]:
        """The filter as URL arguments, for links, forms and the live stream."""
        args: dict[str, str | list[str]] = {}
        if self.states:
            args["state"] = list(self.states)
        if self.workflow_id:
            args["workflow"] = str(self.workflow_id)
        for name in ("received_from", "received_to", "activity_from", "activity_to"):
            value = getattr(self, name)
            if value is not None:
                args[name] = value.isoformat()
        if self.text:
            args["q"] = self.text
            args["in"] = list(self.places)
        if self.received_since is not None:
            args["since"] = self.received_since.astimezone(UTC).strftime(SINCE_FORMAT)
        return args


def parse_filter(args: QueryArgs) -> HistoryFilter:
    """Read a HistoryFilter from query arguments; Invalid names the argument at fault."""
    states = tuple(dict.fromkeys(s for s in args.getlist("state") if s))
    unknown = [s for s in states if s not in STATES]
    if unknown:
        raise Invalid("state", f"Unknown state {unknown[0]!r}: use one of {', '.join(STATES)}.")
    workflow_id = None
    if args.get("workflow"):
        try:
            workflow_id = uuid.UUID(args.get("workflow") or "")
        except ValueError:
            raise Invalid("workflow", "That workflow id is not valid.") from None
    dates = {
        name: _date(args.get(name), name)
        for name in ("received_from", "received_to", "activity_from", "activity_to")
    }
    for start, end in (("received_from", "received_to"), ("activity_from", "activity_to")):
        if dates[start] and dates[end] and dates[start] > dates[end]:
            raise Invalid(end, "The end date is before the start date.")
    text = " ".join((args.get("q") or "").split())
    if text and len(text) < MIN_TEXT:
        raise Invalid("q", f"Search for at least {MIN_TEXT} characters.")
    if len(text) > MAX_TEXT:
        raise Invalid("q", f"Search for at most {MAX_TEXT} characters.")
    places = tuple(p for p in PLACES if p in args.getlist("in")) or DEFAULT_PLACES
    since = _moment(args.get("since"))
    return HistoryFilter(
        states, workflow_id, text=text, places=places, received_since=since, **dates
    )


def _moment(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.strptime(raw.strip(), SINCE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("since", "Write the moment as YYYY-MM-DDTHH:MM (UTC).") from None
    if not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise Invalid("since", f"Choose a moment from {FIRST_DAY} to {LAST_DAY}.")
    return moment


def _date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise Invalid(name, "Write the date as YYYY-MM-DD.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(name, f"Choose a date from {FIRST_DAY} to {LAST_DAY}.")
    return day


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end(day: date) -> datetime:
    """Midnight UTC after `day` (an exclusive upper bound)."""
    return day_start(day) + timedelta(days=1)


def encode_cursor(inserted_at: datetime, row_id: uuid.UUID) -> str:
    """A position in the list, as an opaque URL-safe string."""
    moment = inserted_at if inserted_at.tzinfo else inserted_at.replace(tzinfo=UTC)
    raw = json.dumps([moment.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, message: str = PAGE_LINK_BROKEN) -> tuple[datetime, uuid.UUID]:
    """The (inserted_at, id) behind a cursor; Invalid("cursor", `message`) for anything
    encode_cursor did not make: other encodings or shapes, values of other types or written
    differently, a moment outside the years 1900-2999 in UTC, or an id that is not one.
    (Not signed: a valid cursor only says where to start listing what the viewer may see.)"""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded))
        if not (isinstance(decoded, list) and len(decoded) == 2):
            raise ValueError("not a pair")
        moment_text, id_text = decoded
        if not (isinstance(moment_text, str) and isinstance(id_text, str)):
            raise ValueError("not two strings")
        moment, row_id = datetime.fromisoformat(moment_text), uuid.UUID(id_text)
        if moment.isoformat() != moment_text or str(row_id) != id_text:
            raise ValueError("not written by encode_cursor")  # e.g. a trailing NUL
        # Naive moments are UTC (SQLite gives them); converting proves the moment is in range.
        in_utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        if not FIRST_DAY <= in_utc.date() <= LAST_DAY:
            raise ValueError("out of range")
        return moment, row_id
    except (ValueError, TypeError, OverflowError):
        raise Invalid("cursor", message) from None
