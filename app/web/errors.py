"""Error pages (HTML) and error bodies (JSON for API and webhook callers), and the one rule
for NUL characters in what browsers and API clients send."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services.errors import Conflict, Forbidden, Invalid, NotFound

EXPLANATIONS = {
    400: "The request could not be understood.",
    401: "You need to sign in to see this.",
    403: "Your role in this project does not allow this. Ask a project admin.",
    404: "There is nothing here, or you do not have access to it.",
    405: "That action is not possible here.",
    413: "The request body is too large.",
    500: "Something went wrong on our side. The problem was logged.",
    503: "A service Ferry depends on is not answering. Try again shortly.",
}
NUL = "\x00"
FORM_TYPES = frozenset(("application/x-www-form-urlencoded", "multipart/form-data"))
# Webhook callers get the webhook rules (app/web/webhooks), which store what they send.
UNGUARDED_PREFIXES = ("/i/",)


def register(app: Flask) -> None:
    """Install the handlers and the NUL-character guard."""
    app.before_request(refuse_nul_characters)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotFound, lambda e: _render(404, e.message))
    app.register_error_handler(Forbidden, lambda e: _render(403, e.message))
    app.register_error_handler(Conflict, lambda e: _render(409, e.message))
    app.register_error_handler(Invalid, lambda e: _render(422, e.message, e.field))


def refuse_nul_characters():
    """400 naming the query argument or form field that holds a NUL character.

    PostgreSQL cannot store NUL in text, so such a value would fail deep inside a service
    (a 500, or a half-done change); refusing it at the door gives one clear message for
    every page. The query string is scanned only when its raw bytes hold a NUL, and form
    values only on form posts (CSRF protection has parsed the form already).
    """
    if request.path.startswith(UNGUARDED_PREFIXES):
        return None
    if NUL in request.path:
        return _nul_found("the address")
    raw_query = request.query_string
    if raw_query and (b"%00" in raw_query or b"\x00" in raw_query):
        field = _field_with_nul(request.args.items(multi=True))
        if field is not None:
            return _nul_found(field)
    if request.mimetype in FORM_TYPES:
        field = _field_with_nul(request.form.items(multi=True))
        if field is not None:
            return _nul_found(field)
    return None


def _field_with_nul(items) -> str | None:
    for key, value in items:
        if NUL in key or NUL in value:
            return key.replace(NUL, "\\u0000")
    return None


def _nul_found(field: str):
    where = field if field == "the address" else f"The value of “{field}”"
    message = f"{where[0].upper()}{where[1:]} contains a NUL character (\\u0000); remove it."
    return _render(400, message, None if field == "the address" else field)


def _csrf_failed(error: CSRFError):
    return _render(
        400,
        "The form was missing its security token or the token expired. "
        "Reload the page and try again.",
    )


def _http_error(error: HTTPException):
    code = error.code or 500
    if code == 413:
        return _render(413, _too_large())
    return _render(code, EXPLANATIONS.get(code, error.description or ""))


def _too_large() -> str:
    """Which limit a 413 met: the whole body (MAX_CONTENT_LENGTH, from FERRY_MAX_DATACLIP_MB)
    or, on a form, one field's value or the number of fields (Werkzeug's form limits)."""
    limit, field_limit = request.max_content_length, request.max_form_memory_size
    if limit is not None and (request.content_length or 0) > limit:
        return (
            f"The request body is larger than the {_size(limit)} Ferry accepts. Nothing was saved."
        )
    if field_limit is None:
        return f"{EXPLANATIONS[413]} Nothing was saved."
    return (
        f"A form field is larger than the {_size(field_limit)} Ferry accepts "
        "in one field, or the form has too many fields. Upload large content as a file. "
        "Nothing was saved."
    )


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MB"
    return f"{count // 1024} KB"


def _render(code: int, message: str, field: str | None = None):
    _roll_back()
    if _wants_json():
        body = {"error": message, "status": code}
        if field is not None:
            body["field"] = field
        return jsonify(body), code
    try:
        return render_template("errors/error.html", code=code, message=message), code
    except Exception:  # the page reads the signed-in user: the database may be away
        current_app.logger.exception("Drawing the error page failed")
        return Response(f"Error {code}: {message}\n", code, mimetype="text/plain")


def _roll_back() -> None:
    """End the request's transaction before drawing the error: after a failed statement the
    session refuses every query until rolled back, and the page reads the signed-in user.
    Nothing the failed request did may be stored half-way either."""
    try:
        db.session.rollback()
    except Exception:  # the database is away: draw the page regardless
        current_app.logger.warning("Rolling back before an error page failed", exc_info=True)


def _wants_json() -> bool:
    if request.path.startswith(("/api/", "/i/", "/health")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
