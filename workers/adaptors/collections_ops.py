"""The `collections` operations every job has: get, set, remove and each over the project's
collections (key-value stores of JSON values kept between runs), after OpenFn's
`collections` namespace.

    collections.get("patients", "p-1")                      # data = the value (None if unset)
    collections.get("patients", "2024-*")                   # data = [{"key", "value"}, ...]
    collections.set("patients", S.data.id, S.data)          # one key
    collections.set("patients", lambda p: p["id"], S.data)  # a list, each item's key computed
    collections.remove("patients", "2023-*")
    collections.each("patients", "p-*", visit)              # visit(state, value, key)

The sandbox has no database, so these call the collections API with the step's token
(`workers.runtime.ferry_api`), which the egress guard lets through for these requests only;
large sets travel a page or a batch of 1,000 at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from workers.adaptors.http_client import tls_context
from workers.adaptors.http_failures import network_failure
from workers.runtime import ferry_api
from workers.runtime.errors import JobError, tag
from workers.runtime.lazy import LazyArgument, LazyPath, operation, resolve
from workers.runtime.logs import emit

Operation = Callable[[dict], dict]
BATCH = 1000  # the API's largest batch and page
BATCH_BYTES = 8 * 1024 * 1024  # below the API's 10 MB body limit for a batch
TIMEOUT_S = 30.0
WILDCARD = "*"


def get_values(name: Any, key_or_pattern: Any) -> Operation:
    """Put the value under a key in `data` (None when the key is unset), or, for a pattern
    with `*`, the list of matching {"key", "value"} items in key order."""

    @operation
    def run(state: dict) -> dict:
        collection, wanted = _text(name, state, "name"), _text(key_or_pattern, state, "key")
        with _Api() as api:
            if WILDCARD in wanted:
                found = [{"key": k, "value": v} for k, v in api.matching(collection, wanted)]
                emit("info", "adaptor", f"collections.get: {len(found)} items from {collection!r}")
                return {**state, "data": found}
            page = api.page(collection, wanted, None, 1)
        value = page["items"][0]["value"] if page["items"] else None
        return {**state, "data": value}

    return run


def set_values(name: Any, key: Any, value: Any) -> Operation:
    """Store `value` under `key`; or, when `key` is a function, store each item of the list
    `value` under the key that function computes for it (in batches of 1,000)."""

    @operation
    def run(state: dict) -> dict:
        collection = _text(name, state, "name")
        resolved = resolve(value, state)
        if callable(key) and not isinstance(key, LazyArgument | LazyPath):
            entries = resolved if isinstance(resolved, list) else [resolved]
            items = [
                {"key": _key_of(key, item, i), "value": item} for i, item in enumerate(entries)
            ]
            with _Api() as api:
                for batch in _batches(items):
                    api.call("POST", _path(collection), content=b'{"items":[' + batch + b"]}")
            emit("info", "adaptor", f"collections.set: {len(items)} items into {collection!r}")
            return state
        with _Api() as api:
            api.call("PUT", _path(collection, _text(key, state, "key")), content=_json(resolved))
        return state

    return run


def remove_values(name: Any, key_or_pattern: Any) -> Operation:
    """Remove the entry under a key, or every entry whose key matches a pattern with `*`."""

    @operation
    def run(state: dict) -> dict:
        collection, wanted = _text(name, state, "name"), _text(key_or_pattern, state, "key")
        with _Api() as api:
            if WILDCARD in wanted:
                answer = api.call("DELETE", _path(collection), params={"key": wanted})
            else:
                answer = api.call("DELETE", _path(collection, wanted))
        removed = answer.get("removed", 0) if isinstance(answer, dict) else 0
        emit("info", "adaptor", f"collections.remove: {removed} removed from {collection!r}")
        return state

    return run


def each_value(name: Any, pattern: Any, callback: Callable) -> Operation:
    """Call `callback(state, value, key)` for every entry matching `pattern`, in key order, a
    page at a time; a callback that returns a dict gives the state for the next one."""
    if not callable(callback):
        raise tag(
            TypeError(
                "collections.each needs a function (state, value, key) as its third argument"
            ),
            "wrong_type",
            operation="collections.each",
            expected="a function",
            got=type(callback).__name__,
        )

    @operation
    def run(state: dict) -> dict:
        collection, wanted = _text(name, state, "name"), _text(pattern, state, "pattern")
        current, count = state, 0
        with _Api() as api:
            for key, value in api.matching(collection, wanted):
                result = callback(current, value, key)
                current = result if isinstance(result, dict) else current
                count += 1
        emit("info", "adaptor", f"collections.each: {count} items of {collection!r}")
        return current

    return run


class _Api:
    """One HTTP client to the collections API for the length of an operation."""

    def __enter__(self) -> _Api:
        access = ferry_api.current()
        if access is None:
            raise JobError(
                "collections are only available to steps run by a Ferry worker (this step "
                "has no access to Ferry's API).",
                code="bad_argument",
            )
        self.root = access.url
        self.client = httpx.Client(
            verify=tls_context(),
            trust_env=False,
            timeout=TIMEOUT_S,
            headers={"Authorization": f"Bearer {access.token}"},
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The API's JSON answer; JobError carrying the API's own sentence on an error."""
        headers = {"Content-Type": "application/json"} if "content" in kwargs else None
        request = self.client.build_request(method, self.root + path, headers=headers, **kwargs)
        started = time.monotonic()
        try:
            with ferry_api.calling():  # the egress guard lets this request reach the API
                response = self.client.send(request)
        except httpx.HTTPError as exc:
            message = f"Ferry's collections API could not be reached: {exc}"
            raise network_failure(exc, request, message, time.monotonic() - started) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success:
            return answer
        said = answer.get("error") if isinstance(answer, dict) else None
        said = said or f"the collections API answered {response.status_code}"
        code = "http_error" if response.status_code >= 500 else "bad_argument"
        details = {"status": response.status_code, "method": method, "url": path}
        raise JobError(said, code=code, details=details)

    def page(self, collection: str, pattern: str, cursor: str | None, limit: int) -> dict:
        """One page of entries matching `pattern`."""
        params: dict[str, Any] = {"key": pattern, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self.call("GET", _path(collection), params=params)

    def matching(self, collection: str, pattern: str) -> Iterator[tuple[str, Any]]:
        """(key, value) of every entry matching `pattern`, fetched a page at a time."""
        cursor = None
        while True:
            page = self.page(collection, pattern, cursor, BATCH)
            for item in page["items"]:
                yield item["key"], item["value"]
            cursor = page.get("next_cursor")
            if not cursor:
                return


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _batches(items: list[dict]) -> Iterator[bytes]:
    """The items as JSON, joined into batches of at most BATCH items and BATCH_BYTES."""
    batch: list[bytes] = []
    size = 0
    for item in items:
        encoded = _json(item)
        if batch and (len(batch) == BATCH or size + len(encoded) > BATCH_BYTES):
            yield b",".join(batch)
            batch, size = [], 0
        batch.append(encoded)
        size += len(encoded) + 1
    if batch:
        yield b",".join(batch)


def _path(collection: str, key: str | None = None) -> str:
    # Every character of a name or key is sent escaped, "/" and "." included, so a key
    # such as "a/../b" stays one key.
    path = "/collections/" + quote(collection, safe="")
    if key is not None:
        path += "/" + quote(key, safe="").replace(".", "%2E")
    return path


def _text(value: Any, state: dict, what: str) -> str:
    resolved = resolve(value, state)
    if not isinstance(resolved, str) or not resolved:
        raise tag(
            TypeError(f"the collection {what} must be non-empty text, not {resolved!r:.60}"),
            "wrong_type",
            expected="text",
            got=type(resolved).__name__,
        )
    return resolved


def _key_of(key_fn: Callable, item: Any, index: int) -> str:
    key = key_fn(item)
    if not isinstance(key, str) or not key:
        raise tag(
            TypeError(f"the key function gave {key!r:.60} for item {index}, not non-empty text"),
            "wrong_type",
            expected="text",
            got=type(key).__name__,
        )
    return key


OPERATIONS = {
    "collections.get": get_values,
    "collections.set": set_values,
    "collections.remove": remove_values,
    "collections.each": each_value,
}
