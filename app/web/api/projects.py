"""API: projects."""

from __future__ import annotations

from flask import g, jsonify

from app.services import projects as project_service
from app.web.api import body as read
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
    body = read.json_object()
    name, description = read.text(body, "name"), read.text(body, "description")
    project = project_service.create_project(g.api_user, name or "", description or "")
    return jsonify(serialize.project(project)), 201
