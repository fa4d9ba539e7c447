"""The API blueprint: token authentication and JSON errors for every API route."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from app.extensions import csrf
from app.services import api_tokens
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.web.api import rate_limit
from app.web.api.body import Unreadable

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
HOW_TO_AUTHENTICATE = (
    "Send a valid API token: Authorization: Bearer <token> "
    "(create one on your profile page, or with `ferry create-token EMAIL`)."
)


@bp.before_request
def authenticate():
    """Every API call needs `Authorization: Bearer <token>` (the OpenAPI document excepted)."""
    if request.endpoint == "api.openapi_document":
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = api_tokens.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        return error(401, HOW_TO_AUTHENTICATE)
    wait_s = rate_limit.seconds_to_wait(token.strip())
    if wait_s is not None:
        limit = current_app.config["FERRY_SETTINGS"].api_requests_per_minute
        response, status = error(
            429,
            f"This API token made more than {limit} calls in the last minute. "
            f"Wait {wait_s} s, then spread the calls out.",
        )
        response.headers["Retry-After"] = str(wait_s)
        return response, status
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


def invalid_status(exc: Invalid) -> int:
    """A body or query parameter that cannot be read at all is a bad request (400), not a
    bad field (422)."""
    return 400 if isinstance(exc, Unreadable) else 422


def answer_service_errors_as_json(blueprint: Blueprint, status_of_invalid=invalid_status):
    """Service errors raised in `blueprint`'s views become JSON errors with their sentence:
    NotFound 404, Forbidden 403, Conflict 409, Invalid `status_of_invalid(exc)`."""

    @blueprint.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return error(404, exc.message)

    @blueprint.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden):
        return error(403, exc.message)

    @blueprint.errorhandler(Conflict)
    def _conflict(exc: Conflict):
        return error(409, exc.message)

    @blueprint.errorhandler(Invalid)
    def _invalid(exc: Invalid):
        problems = getattr(exc, "problems", None)
        return error(status_of_invalid(exc), exc.message, exc.field, problems)


answer_service_errors_as_json(bp)
