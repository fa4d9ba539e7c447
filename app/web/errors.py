"""Error pages (HTML) and error bodies (JSON for API and webhook callers)."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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


def register(app: Flask) -> None:
    """Install the handlers."""
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotFound, lambda e: _render(404, e.message))
    app.register_error_handler(Forbidden, lambda e: _render(403, e.message))
    app.register_error_handler(Conflict, lambda e: _render(409, e.message))
    app.register_error_handler(Invalid, lambda e: _render(422, e.message))


def _csrf_failed(error: CSRFError):
    return _render(
        400,
        "The form was missing its security token or the token expired. "
        "Reload the page and try again.",
    )


def _http_error(error: HTTPException):
    code = error.code or 500
    return _render(code, EXPLANATIONS.get(code, error.description or ""))


def _render(code: int, message: str):
    if _wants_json():
        return jsonify({"error": message, "status": code}), code
    return render_template("errors/error.html", code=code, message=message), code


def _wants_json() -> bool:
    if request.path.startswith(("/api/", "/i/", "/health")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
