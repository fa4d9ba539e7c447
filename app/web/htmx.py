"""The one place HX-* request and response headers are read or written."""

from __future__ import annotations

from flask import Response, request


def is_fragment_request() -> bool:
    """True for an htmx request that wants a fragment (history restores want a full page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def is_htmx_request() -> bool:
    """True for any request htmx sent (a fragment or a history restore): htmx swaps in
    only 2xx answers, so a page that still has something to show answers those with 200."""
    return request.headers.get("HX-Request") == "true"


def vary_on_htmx(response: Response) -> Response:
    """Mark a response whose body depends on HX-Request, so caches keep both versions."""
    response.vary.add("HX-Request")
    return response


def redirect_client(response: Response, location: str) -> Response:
    """Ask htmx to navigate the whole page to `location`."""
    response.headers["HX-Redirect"] = location
    return response
