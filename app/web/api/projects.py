"""API: projects."""

from __future__ import annotations

from flask import g, jsonify, request

from app.services import projects as project_service
from app.services.errors import Invalid
from app.web.api import serialize
from app.web.api.blueprint import bp


@bp.get("/projects")
def list_projects():
    """The projects the token's user can open."""
    rows = project_service.projects_for_user(g.api_user)
    return jsonify(
        {
            "projects": [
                serialize.project(p) | {"role": r.value if r else "superuser"} for p, r in rows
            ]
        }
    )


@bp.post("/projects")
def create_project():
    """Create a project; the token's user becomes its owner."""
    body = _json_object()
    project = project_service.create_project(
        g.api_user, str(body.get("name") or ""), str(body.get("description") or "")
    )
    return jsonify(serialize.project(project)), 201


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("body", "Send a JSON object with Content-Type: application/json.")
    return body
