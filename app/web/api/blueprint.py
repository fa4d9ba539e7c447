"""The API blueprint: token authentication and JSON errors for every API route."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from app.extensions import csrf
from app.services import api_tokens
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.web.api.body import Unreadable

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def authenticate():
    """Every API call needs `Authorization: Bearer <token>` (the OpenAPI document excepted)."""
    if request.endpoint == "api.openapi_document":
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = api_tokens.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        return error(
            401,
            "Send a valid API token: Authorization: Bearer <token> "
            "(create one on your profile page, or with `ferry create-token EMAIL`).",
        )
    g.api_user = user
    return None


def error(status: int, message: str, field: str | None = None, problems: list | None = None):
    """A JSON error response; `problems` lists every problem of a document with its path."""
    body: dict = {"error": message, "status": status}
    if field is not None:
        body["field"] = field
    if problems:
        body["problems"] = [problem.as_dict() for problem in problems]
    return jsonify(body), status


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return error(404, exc.message)


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden):
    return error(403, exc.message)


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict):
    return error(409, exc.message)


@bp.errorhandler(Invalid)
def _invalid(exc: Invalid):
    # A body or query parameter that cannot be read at all is a bad request, not a bad field.
    status = 400 if isinstance(exc, Unreadable) else 422
    return error(status, exc.message, exc.field, getattr(exc, "problems", None))
