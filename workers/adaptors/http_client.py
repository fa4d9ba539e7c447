"""Request machinery shared by the HTTP-based adaptors (http, dhis2, commcare, fhir).

One place decides where a request may go (a relative path joins the credential's base_url; a
credential never travels to another origin, neither directly nor through a redirect), how
authentication headers are built, how responses are parsed, which statuses raise `JobError`,
and what one log line per request says.

Long because these rules must hold together for every HTTP adaptor: split across modules,
a redirect or an authentication header could take a path that skips the origin check.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import certifi
import httpx

from workers.adaptors import http_failures
from workers.runtime.errors import JobError
from workers.runtime.logs import emit

DEFAULT_TIMEOUT = 30.0
MAX_REDIRECTS = 5
EXCERPT_CHARS = 300
PARSE_AS = ("json", "text", "base64")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Headers that carry credentials: dropped when an uncredentialed request is redirected away.
_SENSITIVE_HEADERS = ("authorization", "cookie", "proxy-authorization")

ErrorDetail = Callable[[Any], str | None]


@dataclass(frozen=True)
class Reply:
    """A finished exchange: the parsed body and the `response` summary stored in state."""

    data: Any
    response: dict


@cache
def tls_context() -> ssl.SSLContext:
    """The certificate-checking TLS context, built once (building one costs ~80 ms)."""
    return ssl.create_default_context(cafile=certifi.where())


def warm_up() -> None:
    """Build the TLS context, a client and a request once, without any network.

    The sandbox server calls this before forking: each step's child then inherits httpx's
    lazily built parts (about 25 ms here) instead of building them on its first request."""
    with httpx.Client(verify=tls_context(), trust_env=False) as client:
        client.build_request("POST", "https://warm-up.invalid/", json={}, headers={"a": "b"})


def configuration(state: dict) -> dict:
    """The step's credential (an empty dict when the step has none)."""
    config = state.get("configuration") or {}
    if not isinstance(config, dict):
        raise JobError(
            "state['configuration'] must be an object (the step's credential)", code="bad_argument"
        )
    return config


def with_reply(state: dict, reply: Reply) -> dict:
    """The next state: `data` is the parsed body and `response` describes the exchange."""
    return {**state, "data": reply.data, "response": reply.response}


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, normalised so equal origins compare equal."""
    parsed = httpx.URL(url)
    scheme = parsed.scheme.lower()
    host = parsed.host.lower()
    if ":" in host:
        host = f"[{host}]"
    port = parsed.port
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def without_query(url: str) -> str:
    """The URL with its query string and fragment removed (safe for logs and errors)."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None))


def target_url(path: str, config: Mapping[str, Any]) -> str:
    """Where a request for `path` goes, refusing to send credentials off the base_url origin."""
    if not isinstance(path, str):
        raise JobError(
            f"a request path must be a string, not {type(path).__name__}", code="bad_argument"
        )
    base = config.get("base_url")
    if _ABSOLUTE.match(path):
        url = path
        if base and origin_of(url) != origin_of(base):
            raise JobError(
                f"refusing to send credentials to {origin_of(url)}: "
                f"it is not the credential's base_url {base}"
            )
    elif base:
        # Appended, not RFC-3986 joined, so base_url "https://h/api" + "/x" is "https://h/api/x".
        url = base.rstrip("/") + ("/" + path.lstrip("/") if path.strip("/") else "")
    else:
        raise JobError(
            f"{path!r} is a relative path: give an absolute URL, or use a credential "
            "with a base_url"
        )
    if httpx.URL(url).scheme not in _DEFAULT_PORTS:
        raise JobError(
            f"only http and https URLs are supported, not {without_query(url)}", code="bad_argument"
        )
    return url


def basic_auth(username: str, password: str) -> str:
    """An `Authorization` value for HTTP Basic authentication."""
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def token_or_basic(config: Mapping[str, Any], scheme: str = "Bearer") -> dict[str, str]:
    """Authorization from `access_token` (preferred) or `username` + `password`."""
    if config.get("access_token"):
        return {"Authorization": f"{scheme} {config['access_token']}"}
    if config.get("username") and config.get("password") is not None:
        return {"Authorization": basic_auth(str(config["username"]), str(config["password"]))}
    return {}


def send(
    method: str,
    url: str,
    *,
    auth: Mapping[str, str] | None = None,
    headers: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    json_body: Any = None,
    content: str | bytes | None = None,
    form: Mapping[str, Any] | None = None,
    content_type: str | None = None,
    timeout: float | None = None,
    errors: Any = None,
    parse_as: str | None = None,
    verify: bool = True,
    error_detail: ErrorDetail | None = None,
) -> Reply:
    """Send one request (following same-origin redirects) and parse, check and log the reply."""
    method = str(method).upper()
    if parse_as is not None and parse_as not in PARSE_AS:
        raise JobError(
            f"parse_as must be one of {', '.join(PARSE_AS)}, not {parse_as!r}", code="bad_argument"
        )
    if not (errors is None or isinstance(errors, bool | Mapping)):
        raise JobError(
            "errors must be True, False or a mapping of status code to False/message",
            code="bad_argument",
        )
    if sum(value is not None for value in (json_body, content, form)) > 1:
        raise JobError("give only one of body (JSON or raw text) and form", code="bad_argument")
    all_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    all_headers.update(auth or {})
    body_bytes, body_type = _encode_body(json_body, content, form)
    if body_type and not _has_header(all_headers, "content-type"):
        all_headers["Content-Type"] = content_type or body_type
    params = {k: v for k, v in (query or {}).items() if v is not None}
    for name, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(item, str | int | float):
                raise JobError(
                    f"query value {name!r} must be text, a number or a list of them",
                    code="bad_argument",
                )
    seconds = DEFAULT_TIMEOUT if timeout is None else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        raise JobError(
            f"timeout must be a number of seconds above 0, not {timeout!r}", code="bad_argument"
        )
    started = time.monotonic()
    tls: ssl.SSLContext | bool = tls_context() if verify else False
    with httpx.Client(timeout=seconds, verify=tls, trust_env=False) as client:
        # trust_env=False: proxies and netrc from the environment must not redirect or
        # decorate requests that carry a credential.
        # Merged by hand: httpx's `params=` would replace a query already in the URL.
        full_url = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
        request = client.build_request(method, full_url, headers=all_headers, content=body_bytes)
        response = _exchange(client, request, credentialed=bool(auth), seconds=seconds)
    duration_ms = round((time.monotonic() - started) * 1000)
    summary = {
        "status": response.status_code,
        "headers": _public_headers(response.headers),
        "url": str(response.url),
        "method": response.request.method,
        "duration_ms": duration_ms,
    }
    data = _parse(response, parse_as)
    _check_status(response, data, errors, error_detail)
    return Reply(data, summary)


def _encode_body(
    json_body: Any, content: str | bytes | None, form: Mapping[str, Any] | None
) -> tuple[bytes | None, str | None]:
    if form is not None:
        encoded = str(httpx.QueryParams({k: v for k, v in form.items() if v is not None}))
        return encoded.encode(), "application/x-www-form-urlencoded"
    if isinstance(content, bytes):
        return content, "application/octet-stream"
    if isinstance(content, str):
        return content.encode(), "text/plain; charset=utf-8"
    if json_body is not None:
        try:
            return json.dumps(json_body).encode(), "application/json"
        except (TypeError, ValueError) as exc:
            raise JobError(f"the request body cannot be sent as JSON: {exc}") from exc
    return None, None


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(key.lower() == name for key in headers)


def _exchange(
    client: httpx.Client, request: httpx.Request, *, credentialed: bool, seconds: float
) -> httpx.Response:
    for _hop in range(MAX_REDIRECTS + 1):
        response = _send_logged(client, request, seconds)
        if not response.is_redirect:
            return response
        location = response.headers["location"]
        next_url = request.url.join(location)
        if origin_of(str(next_url)) != origin_of(str(request.url)):
            if credentialed:
                raise http_failures.coded(
                    "redirect_refused",
                    request,
                    f"{request.method} {without_query(str(request.url))} redirected to "
                    f"{origin_of(str(next_url))}: refusing to follow a redirect to another "
                    "origin with the credential attached",
                )
            headers = {k: v for k, v in request.headers.items() if k not in _SENSITIVE_HEADERS}
        else:
            headers = dict(request.headers)
        request = _redirected(client, request, response.status_code, next_url, headers)
    message = f"{request.method} {without_query(str(request.url))}: too many redirects"
    raise http_failures.coded("too_many_redirects", request, message)


def _redirected(
    client: httpx.Client, request: httpx.Request, status: int, url: httpx.URL, headers: dict
) -> httpx.Request:
    # Browsers' rule: 303 (and 301/302 after a POST) become a GET without a body.
    method = request.method
    content: bytes | None = request.content or None
    if status == 303 or (status in (301, 302) and method == "POST"):
        method, content = ("HEAD" if method == "HEAD" else "GET"), None
        headers = {k: v for k, v in headers.items() if k not in ("content-type", "content-length")}
    headers.pop("content-length", None)
    headers.pop("host", None)
    return client.build_request(method, url, headers=headers, content=content)


def _send_logged(client: httpx.Client, request: httpx.Request, seconds: float) -> httpx.Response:
    where = f"{request.method} {without_query(str(request.url))}"
    started = time.monotonic()
    try:
        response = client.send(request)
    except httpx.TimeoutException as exc:
        emit("error", "adaptor", f"{where} timed out after {seconds:g} s")
        message = f"{where} timed out after {seconds:g} s"
        raise http_failures.network_failure(exc, request, message, seconds) from exc
    except httpx.HTTPError as exc:
        emit("error", "adaptor", f"{where} failed: {exc}")
        message = f"{where} failed: {exc}"
        raise http_failures.network_failure(exc, request, message, seconds) from exc
    elapsed = round((time.monotonic() - started) * 1000)
    level = "warn" if response.status_code >= 400 else "info"
    emit(level, "adaptor", f"{where} -> {response.status_code} in {elapsed} ms")
    return response


def _public_headers(headers: httpx.Headers) -> dict[str, str]:
    names = {name.lower() for name in headers if name.lower() != "set-cookie"}
    return {name: ", ".join(headers.get_list(name)) for name in sorted(names)}


def _parse(response: httpx.Response, parse_as: str | None) -> Any:
    if parse_as == "base64":
        return base64.b64encode(response.content).decode()
    if parse_as == "text":
        return response.text
    is_json = "json" in response.headers.get("content-type", "").lower()
    if parse_as is None and not is_json:
        return response.text
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        if response.status_code >= 400:
            return response.text  # let the status error speak, not the parse error
        where = f"{response.request.method} {without_query(str(response.url))}"
        message = f"{where} returned a body that is not valid JSON: {exc}"
        raise http_failures.coded("http_bad_response", response.request, message) from exc


def _check_status(
    response: httpx.Response, data: Any, errors: Any, error_detail: ErrorDetail | None
) -> None:
    status = response.status_code
    should_raise, message = status >= 400, None
    if errors is False:
        return
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if str(key).strip() == str(status):
                should_raise = value is not False
                message = value if isinstance(value, str) else None
    if not should_raise:
        return
    where = f"{response.request.method} {without_query(str(response.url))}"
    detail = (error_detail(data) if error_detail else None) or _excerpt(response.text)
    reason = f"{status} {response.reason_phrase}".strip()
    if message:
        said = f"{message} ({where} returned {reason}: {detail})"
        raise http_failures.status_failure(response, said, detail)
    raise http_failures.status_failure(response, f"{where} returned {reason}: {detail}", detail)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > EXCERPT_CHARS:
        return flat[:EXCERPT_CHARS] + "..."
    return flat or "(empty body)"
