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
    return HistoryFilter(states, workflow_id, text=text, places=places, **dates)


def _date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise Invalid(name, "Write the date as YYYY-MM-DD.") from None


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


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (inserted_at, id) behind a cursor; Invalid when it was not made by encode_cursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, row_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(moment), uuid.UUID(row_id)
    except (ValueError, TypeError):
        raise Invalid(
            "cursor", "That page link is broken; start again from the first page."
        ) from None
