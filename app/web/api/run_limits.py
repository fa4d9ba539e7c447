"""API: a project's run limits (run time, memory per step, largest payload, logs kept)."""

from __future__ import annotations

import uuid

from flask import g, jsonify

from app.models import Project, Role
from app.services import project_limits
from app.services.errors import Invalid
from app.web.api import body as read
from app.web.api.access import project_for
from app.web.api.blueprint import bp

KEYS = (*(limit.field for limit in project_limits.LIMITS), "discard_logs")


@bp.get("/projects/<uuid:project_id>/run_limits")
def get_run_limits(project_id: uuid.UUID):
    """The project's limits as saved (null: the server's default), and the server's own."""
    return jsonify(_shown(project_for(project_id, Role.VIEWER)))


@bp.put("/projects/<uuid:project_id>/run_limits")
def replace_run_limits(project_id: uuid.UUID):
    """Replace the limits with `{"run_timeout_s": 60, ...}`; a key left out (or null) means
    the server's default, `discard_logs` left out means false. 422 names the bad key."""
    project = project_for(project_id, Role.ADMIN)
    body = read.json_object()
    unknown = sorted(set(body) - set(KEYS))
    if unknown:
        raise Invalid(unknown[0], f"Unknown key {unknown[0]!r}: send only {', '.join(KEYS)}.")
    project_limits.update_limits(g.api_user, project.id, body, body.get("discard_logs", False))
    return jsonify(_shown(project))


def _shown(project: Project) -> dict:
    saved = {key: getattr(project, key) for key in KEYS}
    return {**saved, "instance": project_limits.instance_values()}
