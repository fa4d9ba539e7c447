"""The http adaptor: plain HTTP requests to any JSON or text API.

`get("/patients", query={"since": S.cursor})` returns an operation; when it runs, every
argument is resolved against the state, the request is sent (relative paths join the
credential's base_url), and the next state carries `data` (the parsed body) and `response`
(status, headers, url, method, duration_ms). Statuses of 400 and above raise unless the
`errors` option says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workers.adaptors.http_client import (
    DEFAULT_TIMEOUT,
    configuration,
    send,
    target_url,
    token_or_basic,
    with_reply,
)
from workers.runtime.errors import JobError
from workers.runtime.lazy import operation, resolve

Operation = Callable[[dict], dict]
DEFAULT_API_KEY_HEADER = "x-api-key"


def _auth(config: dict) -> dict[str, str]:
    headers = token_or_basic(config)
    if config.get("api_key"):
        headers[str(config.get("api_key_header") or DEFAULT_API_KEY_HEADER)] = str(
            config["api_key"]
        )
    return headers


def request(
    method: Any,
    path: Any,
    *,
    body: Any = None,
    query: Any = None,
    headers: Any = None,
    form: Any = None,
    timeout: Any = DEFAULT_TIMEOUT,
    errors: Any = None,
    parse_as: Any = None,
) -> Operation:
    """Send an HTTP request with any method; the other operations are shortcuts for this."""

    @operation
    def run(state: dict) -> dict:
        config = configuration(state)
        verb = resolve(method, state)
        if not isinstance(verb, str) or not verb.isalpha():
            raise JobError(
                f"request needs an HTTP method such as 'GET', not {verb!r}", code="bad_argument"
            )
        payload = resolve(body, state)
        options = {"query": query, "headers": headers, "form": form}
        resolved = {name: resolve(value, state) for name, value in options.items()}
        for name, value in resolved.items():
            if value is not None and not isinstance(value, dict):
                raise JobError(
                    f"{name} must be an object (a dict), not {type(value).__name__}",
                    code="bad_argument",
                )
        raw = isinstance(payload, str | bytes)
        reply = send(
            verb,
            target_url(resolve(path, state), config),
            auth=_auth(config),
            headers=resolved["headers"],
            query=resolved["query"],
            json_body=None if raw else payload,
            content=payload if raw else None,
            form=resolved["form"],
            timeout=resolve(timeout, state),
            errors=resolve(errors, state),
            parse_as=resolve(parse_as, state),
            verify=config.get("verify_tls", True) is not False,
        )
        return with_reply(state, reply)

    return run


def get(
    path: Any,
    *,
    query: Any = None,
    headers: Any = None,
    timeout: Any = DEFAULT_TIMEOUT,
    errors: Any = None,
    parse_as: Any = None,
) -> Operation:
    """GET a path or URL."""
    return request(
        "GET", path, query=query, headers=headers, timeout=timeout, errors=errors, parse_as=parse_as
    )


def _with_body(method: str) -> Callable[..., Operation]:
    def factory(
        path: Any,
        body: Any = None,
        *,
        query: Any = None,
        headers: Any = None,
        form: Any = None,
        timeout: Any = DEFAULT_TIMEOUT,
        errors: Any = None,
        parse_as: Any = None,
    ) -> Operation:
        return request(
            method,
            path,
            body=body,
            query=query,
            headers=headers,
            form=form,
            timeout=timeout,
            errors=errors,
            parse_as=parse_as,
        )

    factory.__name__ = factory.__qualname__ = method.lower()
    factory.__doc__ = f"{method} a body (JSON unless it is a string, or `form` fields)."
    return factory


post = _with_body("POST")
put = _with_body("PUT")
patch = _with_body("PATCH")


def delete(
    path: Any,
    *,
    query: Any = None,
    headers: Any = None,
    timeout: Any = DEFAULT_TIMEOUT,
    errors: Any = None,
    parse_as: Any = None,
) -> Operation:
    """DELETE a path or URL."""
    return request(
        "DELETE",
        path,
        query=query,
        headers=headers,
        timeout=timeout,
        errors=errors,
        parse_as=parse_as,
    )


OPERATIONS: dict[str, Callable[..., Operation]] = {
    "request": request,
    "get": get,
    "post": post,
    "put": put,
    "patch": patch,
    "delete": delete,
}
