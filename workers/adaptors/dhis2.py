"""The dhis2 adaptor: DHIS2's Web API (metadata, aggregate data and the tracker).

Tracker objects (trackedEntities, enrollments, events, relationships) go through the
tracker importer `/api/tracker` (DHIS2 2.36+) synchronously (`async=false`), wrapped as
`{"trackedEntities": [...]}`, with the import strategy matching the operation. Every other
resource uses its own endpoint: `POST /api/{resource}`, `PUT /api/{resource}/{id}`,
`DELETE /api/{resource}/{id}`, `GET /api/{resource}.json`. Each operation writes the
response body to `data` and the exchange to `response`; DHIS2's import errors (409s with
errorReports, conflicts or a validationReport) raise `JobError` with DHIS2's own messages.
"""

from __future__ import annotations

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
# Tracker resource -> the field holding its UID in tracker payloads.
TRACKER = {
    "trackedEntities": "trackedEntity",
    "enrollments": "enrollment",
    "events": "event",
    "relationships": "relationship",
}
MAX_ERROR_MESSAGES = 5


def _api(config: dict, path: str) -> str:
    version = config.get("api_version")
    prefix = f"api/{version}" if version else "api"
    return f"{prefix}/{path.strip('/')}"


def _resource(value: Any) -> str:
    if not isinstance(value, str) or not value.strip("/"):
        raise JobError(
            f"a DHIS2 resource name such as 'dataValueSets' is needed, not {value!r}",
            code="bad_argument",
        )
    return value.strip("/")


def _messages(body: Any) -> str | None:
    """DHIS2's error messages from a WebMessage, an import summary or a tracker report."""
    if not isinstance(body, dict):
        return None
    found: list[str] = []
    reports = [body, body.get("response") or {}]
    for report in list(reports):
        if isinstance(report, dict) and isinstance(report.get("validationReport"), dict):
            reports.append(report["validationReport"])
        for type_report in (report.get("typeReports") or []) if isinstance(report, dict) else []:
            reports.extend(type_report.get("objectReports") or [])
    for report in reports:
        if not isinstance(report, dict):
            continue
        for error in report.get("errorReports") or []:
            found.append(str(error.get("message") or error))
        for conflict in report.get("conflicts") or []:
            found.append(str(conflict.get("value") or conflict))
    found = found[:MAX_ERROR_MESSAGES]
    if body.get("message") and str(body["message"]) not in found:
        found.insert(0, str(body["message"]))
    return "; ".join(found) or None


def _call(state: dict, method: str, path: str, *, query: Any = None, body: Any = None) -> dict:
    config = configuration(state)
    if not config.get("base_url"):
        raise JobError(
            "the DHIS2 credential needs a base_url such as https://play.dhis2.org/40",
            code="credential_missing_field",
            details={"field": "base_url", "credential": "DHIS2"},
        )
    if query is not None and not isinstance(query, dict):
        raise JobError(
            f"query/params must be an object (a dict), not {type(query).__name__}",
            code="bad_argument",
        )
    reply = send(
        method,
        target_url(_api(config, path), config),
        auth=token_or_basic(config, scheme="ApiToken"),
        headers={"Accept": "application/json"},
        query=query,
        json_body=body,
        error_detail=_messages,
    )
    _warn_on_conflicts(reply.data)
    return with_reply(state, reply)


def _warn_on_conflicts(body: Any) -> None:
    # A 200 import summary can still report ignored values; say so rather than stay silent.
    summary = body.get("response", body) if isinstance(body, dict) else None
    if isinstance(summary, dict) and summary.get("status") in ("WARNING", "ERROR"):
        detail = _messages(summary) or "see data for the import summary"
        emit("warn", "adaptor", f"DHIS2 import finished with status {summary['status']}: {detail}")


def _tracker(state: dict, resource: str, items: list, strategy: str, params: Any) -> dict:
    query = {"async": "false", "importStrategy": strategy, **(params or {})}
    return _call(state, "POST", "tracker", query=query, body={resource: items})


def create(resource: Any, data: Any, params: Any = None) -> Operation:
    """Create one object (or, for tracker resources, a list of objects)."""

    @operation
    def run(state: dict) -> dict:
        name, payload = _resource(resolve(resource, state)), resolve(data, state)
        options = resolve(params, state)
        if name in TRACKER:
            items = payload if isinstance(payload, list) else [payload]
            return _tracker(state, name, items, "CREATE", options)
        return _call(state, "POST", name, query=options, body=payload)

    return run


def update(resource: Any, path: Any, data: Any, params: Any = None) -> Operation:
    """Replace the object `path` (its id, or id/sub-path) of a resource."""

    @operation
    def run(state: dict) -> dict:
        name, target = _resource(resolve(resource, state)), str(resolve(path, state)).strip("/")
        payload, options = resolve(data, state), resolve(params, state)
        if not target:
            raise JobError(
                f"update({name!r}, ...) needs the id of the object to update", code="bad_argument"
            )
        if name in TRACKER:
            if not isinstance(payload, dict):
                raise JobError(
                    f"update({name!r}, ...) needs the object as a dict", code="bad_argument"
                )
            item = {**payload, TRACKER[name]: target}
            return _tracker(state, name, [item], "UPDATE", options)
        return _call(state, "PUT", f"{name}/{target}", query=options, body=payload)

    return run


def get(resource: Any, query: Any = None) -> Operation:
    """Read a resource, filtered by `query` (DHIS2 query parameters such as filter, fields)."""

    @operation
    def run(state: dict) -> dict:
        name, params = _resource(resolve(resource, state)), resolve(query, state)
        if name.split("/")[0] in TRACKER:
            return _call(state, "GET", f"tracker/{name}", query=params)
        path = name if name.endswith(".json") else f"{name}.json"
        return _call(state, "GET", path, query=params)

    return run


def upsert(resource: Any, query: Any, data: Any, params: Any = None) -> Operation:
    """Update the one object matching `query`, or create it when none matches."""

    @operation
    def run(state: dict) -> dict:
        name, where = _resource(resolve(resource, state)), resolve(query, state)
        if not isinstance(where, dict) or not where:
            raise JobError(
                "upsert needs a query such as {'filter': 'code:eq:ABC'}", code="bad_argument"
            )
        uid_field = TRACKER.get(name, "id")
        found = get(name, {**where, "fields": uid_field})(state)["data"]
        matches = (found.get("instances") or found.get(name) or []) if found else []
        if len(matches) > 1:
            raise JobError(
                f"upsert matched {len(matches)} {name}: refine the query so that it matches "
                "at most one"
            )
        if matches:
            emit("info", "adaptor", f"upsert: updating {name}/{matches[0][uid_field]}")
            return update(name, matches[0][uid_field], data, params)(state)
        emit("info", "adaptor", f"upsert: no {name} matched, creating one")
        return create(name, data, params)(state)

    return run


def delete(resource: Any, path: Any, params: Any = None) -> Operation:
    """Delete the object `path` (its id) of a resource."""

    @operation
    def run(state: dict) -> dict:
        name, target = _resource(resolve(resource, state)), str(resolve(path, state)).strip("/")
        options = resolve(params, state)
        if not target:
            raise JobError(
                f"delete({name!r}, ...) needs the id of the object to delete", code="bad_argument"
            )
        if name in TRACKER:
            return _tracker(state, name, [{TRACKER[name]: target}], "DELETE", options)
        return _call(state, "DELETE", f"{name}/{target}", query=options)

    return run


OPERATIONS: dict[str, Callable[..., Operation]] = {
    "create": create,
    "update": update,
    "get": get,
    "upsert": upsert,
    "delete": delete,
}
