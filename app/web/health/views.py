"""`GET /health`: are the database and Redis reachable?"""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.services import health

bp = Blueprint("health", __name__)


@bp.get("/health")
def check():
    """200 with both services ok, or 503 naming the one that is not."""
    problems = {"database": health.check_database(), "redis": health.check_redis()}
    body = {
        name: ({"ok": True} if problem is None else {"ok": False, "error": problem})
        for name, problem in problems.items()
    }
    failing = [name for name, problem in problems.items() if problem is not None]
    body["status"] = "ok" if not failing else "unavailable: " + ", ".join(failing)
    return jsonify(body), (503 if failing else 200)
