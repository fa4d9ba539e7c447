"""An export's filter: stored as the history page's URL arguments (HistoryFilter.to_args),
read back through the history filter code, and put in words for the exports page and audit."""

from __future__ import annotations

from app.services.errors import Invalid
from app.services.history.filters import HistoryFilter, parse_filter


def summary(filters: HistoryFilter, workflow_names: dict | None = None) -> str:
    """The filter in words ("failed · Patient sync · received 2024-05-01 to 2024-05-31")."""
    parts = []
    if filters.states:
        parts.append(" or ".join(filters.states))
    if filters.workflow_id:
        parts.append((workflow_names or {}).get(filters.workflow_id, "one workflow"))
    for label, start, end in (
        ("received", filters.received_from, filters.received_to),
        ("last activity", filters.activity_from, filters.activity_to),
    ):
        if start or end:
            parts.append(f"{label} {start or '…'} to {end or '…'}")
    if filters.received_since:
        parts.append(f"received since {filters.received_since.strftime('%Y-%m-%d %H:%M')} UTC")
    if filters.text:
        parts.append(f"“{filters.text}” in {', '.join(filters.places)}")
    return " · ".join(parts) or "every work order"


def stored_filter(args: dict | None) -> HistoryFilter:
    """An export's stored filter parsed again (it was valid when stored; should a later
    version of the filter rules refuse it, the page shows it as no filter)."""
    try:
        return parse_filter(StoredArgs(args or {}))
    except Invalid:
        return HistoryFilter()


class StoredArgs:
    """A stored filter (HistoryFilter.to_args) read like a query string."""

    def __init__(self, args: dict) -> None:
        self.args = args

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of `key`."""
        values = self.getlist(key)
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        """Every value of `key`."""
        value = self.args.get(key)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
