"""What went wrong with an HTTP exchange, as a `JobError` with a code and details (host and
port, status, method and URL) that the web side turns into a plain sentence.

The technical message stays what it always was; only the code and details are added here.
"""

from __future__ import annotations

import errno
import socket
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from workers.runtime.errors import JobError, refusal_code

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _where(request: httpx.Request) -> dict:
    url = request.url
    port = url.port or _DEFAULT_PORTS.get(url.scheme, "")
    return {
        "host": url.host,
        "port": port,
        "method": request.method,
        "url": str(url.copy_with(query=None, fragment=None)),
    }


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def network_failure(
    exc: httpx.HTTPError, request: httpx.Request, message: str, seconds: float
) -> JobError:
    """The JobError for a request that got no answer: refused, timed out, unknown host, TLS."""
    details = _where(request)
    chain = _chain(exc)
    text = " ".join(str(item) for item in chain)
    if "Ferry sandbox" in text:
        code, found = refusal_code(text)
        return JobError(message, code=code, details={**details, **found})
    if isinstance(exc, httpx.ConnectTimeout):
        code = "connection_timeout"
    elif isinstance(exc, httpx.TimeoutException):
        code = "request_timeout"
    elif any(isinstance(item, ConnectionRefusedError) for item in chain) or (
        f"[Errno {errno.ECONNREFUSED}]" in text
    ):
        code = "connection_refused"
    elif any(isinstance(item, socket.gaierror) for item in chain) or "Name or service" in text:
        code = "dns_failed"
    elif any(isinstance(item, ssl.SSLError) for item in chain) or "SSL" in text:
        code = "tls_failed"
    else:
        code = "connection_failed"
    if code.endswith("timeout"):
        details["seconds"] = seconds
    return JobError(message, code=code, details=details)


def status_failure(response: httpx.Response, message: str, detail: str) -> JobError:
    """The JobError for an HTTP error answer (4xx/5xx)."""
    details = {
        **_where(response.request),
        "status": response.status_code,
        "reason": response.reason_phrase,
        "answer": detail[:300],
    }
    wait = retry_after_s(response.headers.get("retry-after"))
    if wait is not None:
        # Automatic retries (app/services/runs/retry_policy.py) never come back sooner.
        details["retry_after_s"] = wait
    return JobError(message, code="http_error", details=details)


def retry_after_s(header: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delay-seconds or an HTTP date, RFC 9110
    10.2.3), never below 0; None when there is no header or it cannot be read."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT; be lenient with ones that omit it
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def coded(code: str, request: httpx.Request, message: str) -> JobError:
    """A JobError about an exchange (bad JSON answer, redirects) with its method and URL."""
    return JobError(message, code=code, details=_where(request))
