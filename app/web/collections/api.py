"""The collections API: /api/v1/projects/<id>/collections[/<name>[/<key>]].

Its own blueprint because it takes two kinds of bearer token: a person's API token (viewers
read, editors write, as everywhere in the API) and a step token, which a running job's
sandbox uses (app/services/collections/step_tokens.py) and which reaches its own project's
collections only. Errors are JSON with a sentence, as in the rest of the API.
"""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, Response, g, jsonify, request

from app.extensions import csrf
from app.models import Role
from app.services import api_tokens
from app.services.collections import items, rules, step_tokens, store
from app.services.errors import Invalid, NotFound
from app.web.api.access import project_for
from app.web.api.blueprint import HOW_TO_AUTHENTICATE, answer_service_errors_as_json, error

bp = Blueprint("collections_api", __name__, url_prefix="/api/v1/projects/<uuid:project_id>")
csrf.exempt(bp)
# A batch may carry up to this much JSON; each value is also held to its own limit.
BATCH_BODY_MAX = 10 * 1024 * 1024
_BODY_SLACK = 64 * 1024  # room around one value for whitespace and escapes


@bp.before_request
def authenticate():
    """A step token (its project only) or a person's API token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    g.step_access = g.api_user = None
    if step_tokens.is_step_token(token):
        g.step_access = step_tokens.verify(token)
        if g.step_access is None:
            return error(401, "The step's token has expired or its run has ended.")
        return None
    g.api_user = api_tokens.user_for_token(token) if token else None
    if g.api_user is None:
        return error(401, HOW_TO_AUTHENTICATE)
    return None


def _actor_id() -> uuid.UUID | None:
    """Who the audit log names: the token's person; None for a step's token."""
    return g.api_user.id if g.api_user is not None else None


def _allow(project_id: uuid.UUID, needed: Role) -> None:
    """404 for another project, 403 for a role too weak; a step may read and write."""
    if g.step_access is not None:
        if g.step_access.project_id != project_id:
            raise NotFound("There is no such project.")
        return
    project_for(project_id, needed)


@bp.get("/collections")
def list_collections(project_id: uuid.UUID):
    """The project's collections with their entry counts and sizes."""
    _allow(project_id, Role.VIEWER)
    return jsonify({"collections": [_summary(s) for s in store.list_collections(project_id)]})


@bp.put("/collections/<collection_name>")
def create_collection(project_id: uuid.UUID, collection_name: str):
    """Create the collection (201), or say it exists (200)."""
    _allow(project_id, Role.EDITOR)
    try:
        store.get_collection(project_id, collection_name)
        return jsonify({"name": collection_name, "created": False}), 200
    except NotFound:
        collection = store.create_collection(project_id, collection_name, _actor_id())
    return jsonify({"name": collection.name, "created": True}), 201


@bp.delete("/collections/<collection_name>")
def delete_collection_or_entries(project_id: uuid.UUID, collection_name: str):
    """With `?key=pattern`: remove the matching entries. Without: delete the collection."""
    _allow(project_id, Role.EDITOR)
    pattern = request.args.get("key")
    if pattern is not None:
        return jsonify({"removed": items.remove(project_id, collection_name, pattern)})
    removed = store.delete_collection(project_id, collection_name, actor_id=_actor_id())
    return jsonify({"deleted": collection_name, "removed": removed})


@bp.get("/collections/<collection_name>")
def list_entries(project_id: uuid.UUID, collection_name: str):
    """Entries matching `?key=` (default `*`) in key order; `limit` (1-1000), `cursor`."""
    _allow(project_id, Role.VIEWER)
    page = items.list_items(
        project_id,
        collection_name,
        request.args.get("key", rules.WILDCARD),
        cursor=request.args.get("cursor") or None,
        limit=_query_int("limit"),
    )
    # The stored JSON text goes out as it is: no decoding and encoding again per item.
    body = ",".join(
        f'{{"key":{json.dumps(i.key)},"value":{i.text},"updated_at":"{i.updated_at.isoformat()}"}}'
        for i in page.items
    )
    cursor = json.dumps(page.next_cursor)
    return Response(f'{{"items":[{body}],"next_cursor":{cursor}}}', mimetype="application/json")


@bp.post("/collections/<collection_name>")
def set_entries(project_id: uuid.UUID, collection_name: str):
    """Store a batch: {"items": [{"key": ..., "value": ...}, ...]} (at most 1,000)."""
    _allow(project_id, Role.EDITOR)
    body = _json_body(BATCH_BODY_MAX)
    if not isinstance(body, dict) or "items" not in body:
        raise rules.Unreadable(
            "body", 'Send {"items": [{"key": "...", "value": ...}, ...]} as the body.'
        )
    return jsonify({"written": items.set_items(project_id, collection_name, body["items"])})


@bp.get("/collections/<collection_name>/<path:entry_key>")
def get_entry(project_id: uuid.UUID, collection_name: str, entry_key: str):
    """One entry's value."""
    _allow(project_id, Role.VIEWER)
    item = items.get_item(project_id, collection_name, _one_key(entry_key))
    if item is None:
        raise NotFound(f"The collection {collection_name} has no key {entry_key!r}.")
    return Response(
        f'{{"key":{json.dumps(item.key)},"value":{item.text},'
        f'"updated_at":"{item.updated_at.isoformat()}"}}',
        mimetype="application/json",
    )


@bp.put("/collections/<collection_name>/<path:entry_key>")
def set_entry(project_id: uuid.UUID, collection_name: str, entry_key: str):
    """Store the body (any JSON value) under the key."""
    _allow(project_id, Role.EDITOR)
    value = _json_body(items.max_value_bytes() + _BODY_SLACK)
    items.set_item(project_id, collection_name, _one_key(entry_key), value)
    return jsonify({"key": entry_key, "stored": True})


@bp.delete("/collections/<collection_name>/<path:entry_key>")
def delete_entry(project_id: uuid.UUID, collection_name: str, entry_key: str):
    """Remove one entry (a key with `*` removes every matching entry)."""
    _allow(project_id, Role.EDITOR)
    return jsonify({"removed": items.remove(project_id, collection_name, entry_key)})


def _one_key(key: str) -> str:
    if rules.WILDCARD in key:
        raise rules.Unreadable(
            "key", f"{key!r} is a pattern: list matching keys with ?key= on the collection."
        )
    return key


def _query_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise rules.Unreadable(name, f"{name} must be a whole number, e.g. {name}=100.")
    return int(raw)


def _json_body(limit: int) -> object:
    """The body as JSON, refused (with a sentence) when too large, not UTF-8 or not JSON."""
    if request.content_length is not None and request.content_length > limit:
        raise rules.TooLarge(
            "body", f"The body is above the {rules.human_size(limit)} this call accepts."
        )
    data = request.get_data()
    if len(data) > limit:
        raise rules.TooLarge("body", f"The body is above the {rules.human_size(limit)} limit.")
    if not data.strip():
        raise rules.Unreadable("body", 'Send the value as JSON in the body, e.g. {"id": 1}.')
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise rules.Unreadable("body", f"The body is not UTF-8 text (byte {exc.start}).") from None
    except json.JSONDecodeError as exc:
        raise rules.Unreadable(
            "body",
            f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
        ) from None
    except (RecursionError, ValueError):
        raise rules.Unreadable(
            "body", "The body is nested too deeply or holds NaN or Infinity, which JSON cannot."
        ) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(name)


def _summary(summary: store.CollectionSummary) -> dict:
    return {
        "name": summary.collection.name,
        "entries": summary.entries,
        "size_bytes": summary.size_bytes,
        # False: there are more entries than counted (the first 10,000, and their size).
        "exact": not summary.more,
        "updated_at": summary.updated_at.isoformat(),
    }


def _status_of_invalid(exc: Invalid) -> int:
    # A cursor or body that cannot be read is a bad request; a value over its limit, too large.
    if isinstance(exc, rules.Unreadable):
        return 400
    return 413 if isinstance(exc, rules.TooLarge) else 422


answer_service_errors_as_json(bp, _status_of_invalid)
