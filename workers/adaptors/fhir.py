"""The fhir adaptor: a FHIR R4 server's RESTful API (create, read, update, search, transaction).

Requests and replies are `application/fhir+json`. Errors come back from FHIR servers as
OperationOutcome resources; their diagnostics become the `JobError` message. `search` writes
the searchset Bundle to `data`; with `all_pages=True` it follows the Bundle's `next` links
(only on the credential's own origin) and returns one Bundle holding every entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workers.adaptors.http_client import (
    configuration,
    send,
    target_url,
    token_or_basic,
    with_reply,
)
from workers.runtime.errors import JobError
from workers.runtime.lazy import operation, resolve
from workers.runtime.logs import emit

Operation = Callable[[dict], dict]
FHIR_JSON = "application/fhir+json"
_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # the FHIR id datatype
MAX_PAGES = 1000


def _outcome(body: Any) -> str | None:
    """The issues of an OperationOutcome as one line."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    issues = []
    for issue in body.get("issue") or []:
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text")
        issues.append(f"{issue.get('severity', 'error')}: {text or issue.get('code', '?')}")
    return "; ".join(issues) or None


def _call(state: dict, method: str, path: str, *, query: Any = None, body: Any = None) -> dict:
    config = configuration(state)
    if not config.get("base_url"):
        raise JobError(
            "the FHIR credential needs a base_url such as https://hapi.fhir.org/baseR4",
            code="credential_missing_field",
            details={"field": "base_url", "credential": "FHIR"},
        )
    reply = send(
        method,
        target_url(path, config),
        auth=token_or_basic(config),
        headers={"Accept": FHIR_JSON},
        query=query,
        json_body=body,
        content_type=FHIR_JSON,
        error_detail=_outcome,
    )
    return with_reply(state, reply)


def _type(value: Any) -> str:
    if not isinstance(value, str) or not _TYPE.match(value):
        raise JobError(
            f"{value!r} is not a FHIR resource type such as 'Patient'", code="bad_argument"
        )
    return value


def _id(value: Any) -> str:
    text = str(value) if isinstance(value, str | int) else ""
    if not _ID.match(text):
        raise JobError(
            f"{value!r} is not a FHIR id (letters, digits, '-' and '.', up to 64)",
            code="bad_argument",
        )
    return text


def _resource(resource_type: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise JobError(
            f"a {resource_type} resource must be an object (a dict)", code="bad_argument"
        )
    declared = value.get("resourceType", resource_type)
    if declared != resource_type:
        raise JobError(
            f"the resource says resourceType {declared!r}, not {resource_type!r}",
            code="bad_argument",
        )
    return {**value, "resourceType": resource_type}


def create(resource_type: Any, resource: Any) -> Operation:
    """Create a resource (POST /{type}); `data` is the stored resource the server returns."""

    @operation
    def run(state: dict) -> dict:
        kind = _type(resolve(resource_type, state))
        return _call(state, "POST", kind, body=_resource(kind, resolve(resource, state)))

    return run


def read(resource_type: Any, resource_id: Any) -> Operation:
    """Read one resource by id (GET /{type}/{id})."""

    @operation
    def run(state: dict) -> dict:
        kind, ident = _type(resolve(resource_type, state)), _id(resolve(resource_id, state))
        return _call(state, "GET", f"{kind}/{ident}")

    return run


def update(resource_type: Any, resource_id: Any, resource: Any) -> Operation:
    """Replace a resource by id (PUT /{type}/{id}), creating it if the server allows."""

    @operation
    def run(state: dict) -> dict:
        kind, ident = _type(resolve(resource_type, state)), _id(resolve(resource_id, state))
        body = {**_resource(kind, resolve(resource, state)), "id": ident}
        return _call(state, "PUT", f"{kind}/{ident}", body=body)

    return run


def search(resource_type: Any, params: Any = None, *, all_pages: Any = False) -> Operation:
    """Search a resource type (GET /{type}?params); `data` is the searchset Bundle."""

    @operation
    def run(state: dict) -> dict:
        kind, query = _type(resolve(resource_type, state)), resolve(params, state)
        if query is not None and not isinstance(query, dict):
            raise JobError(
                "search params must be an object such as {'name': 'Ana'}", code="bad_argument"
            )
        result = _call(state, "GET", kind, query=query)
        if not resolve(all_pages, state):
            return result
        bundle = result["data"]
        entries = list(bundle.get("entry") or [])
        pages, seen = 1, set()
        while (following := _next_link(result["data"])) is not None:
            if following in seen or pages >= MAX_PAGES:
                raise JobError(
                    f"stopped following FHIR search pages after {pages} pages", code="bad_argument"
                )
            seen.add(following)
            result = _call(state, "GET", following)
            entries.extend(result["data"].get("entry") or [])
            pages += 1
        emit("info", "adaptor", f"{kind} search: {len(entries)} entries in {pages} pages")
        links = [link for link in bundle.get("link") or [] if link.get("relation") == "self"]
        merged = {**bundle, "entry": entries, "link": links}
        return {**result, "data": merged}

    return run


def _next_link(bundle: Any) -> str | None:
    links = bundle.get("link") if isinstance(bundle, dict) else None
    for link in links or []:
        if link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _entry(item: Any) -> dict:
    """A transaction entry; a bare resource becomes a create (or an update when it has an id)."""
    if not isinstance(item, dict):
        raise JobError("transaction entries must be objects", code="bad_argument")
    if "request" in item:
        return item
    kind = _type(item.get("resourceType"))
    if item.get("id"):
        return {"resource": item, "request": {"method": "PUT", "url": f"{kind}/{_id(item['id'])}"}}
    return {"resource": item, "request": {"method": "POST", "url": kind}}


def transaction(bundle: Any) -> Operation:
    """POST a transaction Bundle to the server's base (a Bundle, or a list of entries)."""

    @operation
    def run(state: dict) -> dict:
        value = resolve(bundle, state)
        if isinstance(value, list):
            value = {"resourceType": "Bundle", "type": "transaction", "entry": value}
        if not isinstance(value, dict) or value.get("resourceType", "Bundle") != "Bundle":
            raise JobError("transaction needs a Bundle or a list of entries", code="bad_argument")
        kind = value.get("type", "transaction")
        if kind not in ("transaction", "batch"):
            raise JobError(
                f"a Bundle of type {kind!r} cannot be posted as a transaction", code="bad_argument"
            )
        entries = [_entry(item) for item in value.get("entry") or []]
        body = {**value, "resourceType": "Bundle", "type": kind, "entry": entries}
        return _call(state, "POST", "", body=body)

    return run


OPERATIONS: dict[str, Callable[..., Operation]] = {
    "create": create,
    "read": read,
    "update": update,
    "search": search,
    "transaction": transaction,
}
