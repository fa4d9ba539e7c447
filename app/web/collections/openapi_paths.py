"""The collections API in the OpenAPI document (app/web/api/openapi.py merges these paths)."""

from __future__ import annotations

_ERROR = {
    "description": "Error: a JSON object whose `error` says what to fix",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ANY_JSON = {"application/json": {"schema": {}}}
_BATCH = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": {
                    "type": "array",
                    "maxItems": 1000,
                    "items": {
                        "type": "object",
                        "required": ["key", "value"],
                        "properties": {"key": {"type": "string", "maxLength": 255}, "value": {}},
                    },
                }
            },
        }
    }
}
_NAME = {"name": "collection_name", "in": "path", "required": True, "schema": {"type": "string"}}
_KEY = {"name": "entry_key", "in": "path", "required": True, "schema": {"type": "string"}}
_PROJECT = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def _query(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
            "description": description}  # fmt: skip


def _op(summary: str, params: list, *, role: str = "viewer", body=None, ok="200") -> dict:
    operation = {
        "summary": summary,
        "description": f"Needs at least the {role} role in the project, or a running step's "
        "token for its own project.",
        "parameters": params,
        "responses": {ok: {"description": "OK"}}
        | {status: _ERROR for status in ("400", "401", "403", "404", "413", "422")},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


_PATTERN = _query("key", "a key or a pattern where * stands for any text (default *)")
PATHS = {
    "/projects/{project_id}/collections": {
        "get": _op("The project's collections with their entries and size", [_PROJECT]),
    },
    "/projects/{project_id}/collections/{collection_name}": {
        "get": _op(
            "Entries whose keys match ?key=, in key order: {items: [{key, value, updated_at}], "
            "next_cursor}",
            [
                _PROJECT,
                _NAME,
                _PATTERN,
                _query("cursor", "next_cursor of the page before"),
                _query("limit", "1 to 1000 (default 100)"),
            ],
        ),
        "put": _op(
            "Create the collection (200 when it exists)", [_PROJECT, _NAME], role="editor", ok="201"
        ),
        "post": _op(
            "Store up to 1,000 entries at once", [_PROJECT, _NAME], role="editor", body=_BATCH
        ),
        "delete": _op(
            "With ?key=: remove the matching entries; without: delete the collection",
            [_PROJECT, _NAME, _PATTERN],
            role="editor",
        ),
    },
    "/projects/{project_id}/collections/{collection_name}/{entry_key}": {
        "get": _op("One entry: {key, value, updated_at}", [_PROJECT, _NAME, _KEY]),
        "put": _op(
            "Store the body (any JSON value, at most 1 MB) under the key",
            [_PROJECT, _NAME, _KEY],
            role="editor",
            body=_ANY_JSON,
        ),
        "delete": _op("Remove the entry", [_PROJECT, _NAME, _KEY], role="editor"),
    },
}
