"""Reading the audit log a page at a time: a project's entries (for its admins) or every
entry of the instance (for superusers), newest first, optionally of one event only.

Pages are cut by a cursor over (inserted_at, id) rather than an offset, so a page deep in a
long log costs as little as the first and entries written meanwhile do not shift the pages.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_

from app.extensions import db
from app.models import ApiToken, AuditEvent, Credential, OAuthClient, Project, User, Workflow
from app.models.sso import OidcProvider
from app.services.errors import Invalid
from app.services.history.filters import decode_cursor, encode_cursor

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EVENT_MAX = 50
VALUE_MAX = 200
# Item types whose rows have a name worth showing instead of an id.
_NAMED = {
    "user": (User, User.email),
    "project": (Project, Project.name),
    "credential": (Credential, Credential.name),
    "api_token": (ApiToken, ApiToken.name),
    "oauth_client": (OAuthClient, OAuthClient.name),
    "oidc_provider": (OidcProvider, OidcProvider.name),
    "workflow": (Workflow, Workflow.name),
}
# Entries never hold secrets (audit.record's rule); a value under a key like these is hidden
# all the same, should a mistake ever put one there.
_SECRET_WORDS = ("password", "secret", "private_key", "totp", "backup_code", "token_value")
PAGE_LINK_BROKEN = "This page link is not valid; go back to the first page of the audit log."


@dataclass(frozen=True)
class Entry:
    """An entry as the audit pages show it."""

    id: uuid.UUID
    event: str
    actor: str | None  # None: no person (Ferry itself, or someone not signed in)
    item_type: str
    item_id: uuid.UUID
    item_label: str | None  # the item's name or email when it still exists
    project: str | None  # the project's name (instance page)
    changes: list[tuple[str, str]]
    at: datetime
    cursor: str


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, the cursor of the next page (None at the end), and the events
    that occur in this log (for the filter)."""

    entries: list[Entry]
    next_cursor: str | None
    events: list[str]
    event: str | None


def project_page(
    project_id: uuid.UUID, *, event: object = None, cursor: object = None, limit: object = None
) -> AuditPage:
    """Entries about `project_id`, newest first."""
    return _page(AuditEvent.project_id == project_id, event, cursor, limit)


def instance_page(
    *, event: object = None, cursor: object = None, limit: object = None
) -> AuditPage:
    """Every entry of the instance, newest first."""
    return _page(None, event, cursor, limit)


def page_size(raw: object) -> int:
    """A page size from a query argument: PAGE_SIZE when absent, at most MAX_PAGE_SIZE."""
    if raw is None or raw == "":
        return PAGE_SIZE
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise Invalid("limit", "The page size must be a whole number.")
    try:
        size = int(raw)
    except ValueError:
        raise Invalid("limit", "The page size must be a whole number.") from None
    if size < 1:
        raise Invalid("limit", "The page size must be at least 1.")
    return min(size, MAX_PAGE_SIZE)


def _page(scope, event: object, cursor: object, limit: object) -> AuditPage:
    size = page_size(limit)
    chosen = _event(event)
    query = select(AuditEvent)
    if scope is not None:
        query = query.where(scope)
    events_query = select(AuditEvent.event).distinct().order_by(AuditEvent.event)
    if scope is not None:
        events_query = events_query.where(scope)
    if chosen is not None:
        query = query.where(AuditEvent.event == chosen)
    if cursor:
        if not isinstance(cursor, str) or len(cursor) > 200:
            raise Invalid("cursor", PAGE_LINK_BROKEN)
        moment, row_id = decode_cursor(cursor, PAGE_LINK_BROKEN)
        query = query.where(
            AuditEvent.inserted_at <= moment,
            tuple_(AuditEvent.inserted_at, AuditEvent.id) < tuple_(moment, row_id),
        )
    rows = list(
        db.session.scalars(
            query.order_by(AuditEvent.inserted_at.desc(), AuditEvent.id.desc()).limit(size + 1)
        )
    )
    more = len(rows) > size
    entries = _entries(rows[:size])
    return AuditPage(
        entries=entries,
        next_cursor=entries[-1].cursor if more and entries else None,
        events=list(db.session.scalars(events_query)),
        event=chosen,
    )


def _event(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > EVENT_MAX:
        raise Invalid("event", f"Choose an event from the list (at most {EVENT_MAX} characters).")
    return raw


def _entries(rows: list[AuditEvent]) -> list[Entry]:
    actor_ids = list({row.actor_id for row in rows if row.actor_id})
    actors = {
        key: name or email
        for key, name, email in db.session.execute(
            select(User.id, User.name, User.email).where(User.id.in_(actor_ids))
        )
    }
    projects = _labels(Project, Project.name, {row.project_id for row in rows if row.project_id})
    items: dict[tuple[str, uuid.UUID], str] = {}
    for item_type, (model, column) in _NAMED.items():
        wanted = {row.item_id for row in rows if row.item_type == item_type}
        for key, label in _labels(model, column, wanted).items():
            items[(item_type, key)] = label
    return [
        Entry(
            id=row.id,
            event=row.event,
            actor=actors.get(row.actor_id) if row.actor_id else None,
            item_type=row.item_type,
            item_id=row.item_id,
            item_label=items.get((row.item_type, row.item_id)),
            project=projects.get(row.project_id) if row.project_id else None,
            changes=_changes(row.changes),
            at=row.inserted_at,
            cursor=encode_cursor(row.inserted_at, row.id),
        )
        for row in rows
    ]


def _labels(model, column, ids: set) -> dict:
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, column).where(model.id.in_(list(ids)))).all())


def _changes(changes: object) -> list[tuple[str, str]]:
    if not isinstance(changes, dict):
        return [("value", _text(changes))] if changes else []
    shown = []
    for key, value in changes.items():
        name = str(key)
        hidden = any(word in name.lower() for word in _SECRET_WORDS)
        shown.append((name, "(hidden)" if hidden else _text(value)))
    return shown


def _text(value: object) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"
