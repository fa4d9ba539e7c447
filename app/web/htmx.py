"""The one place HX-* request and response headers are read or written."""

from __future__ import annotations

import json

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


def trigger(response: Response, event: str, detail: object = None) -> Response:
    """Have htmx fire `event` (with `detail`) on the requesting element when the answer arrives;
    several events on one response are merged into the one HX-Trigger header."""
    events = json.loads(response.headers.get("HX-Trigger") or "{}")
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def toast(response: Response, message: str, kind: str = "info") -> Response:
    """Announce `message` in a toast (kind: success, danger, warning or info); the page's one
    `ferry:toast` listener shows it."""
    return trigger(response, "ferry:toast", {"message": message, "kind": kind})


def retarget(response: Response, selector: str, swap: str = "outerHTML") -> Response:
    """Swap this answer into `selector` instead of the element's own target (an error message
    goes next to the field it concerns)."""
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = swap
    return response
