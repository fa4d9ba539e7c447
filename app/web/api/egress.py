"""API: a project's egress allowlist (the internal systems its steps may reach)."""

from __future__ import annotations

import uuid

from flask import g, jsonify

from app.models import Role
from app.services import project_settings
from app.services.errors import Invalid
from app.web.api import body as read
from app.web.api.access import project_for
from app.web.api.blueprint import bp


@bp.get("/projects/<uuid:project_id>/egress_allowlist")
def get_egress_allowlist(project_id: uuid.UUID):
    """The project's allowlist entries, as stored (tidied)."""
    project = project_for(project_id, Role.VIEWER)
    return jsonify({"entries": list(project.egress_allowlist or [])})


@bp.put("/projects/<uuid:project_id>/egress_allowlist")
def replace_egress_allowlist(project_id: uuid.UUID):
    """Replace the allowlist with `{"entries": [...]}`; 422 names the first bad entry."""
    project = project_for(project_id, Role.ADMIN)
    body = read.json_object()
    if "entries" not in body:
        raise Invalid("entries", 'Send {"entries": ["10.0.0.5:8080", ...]} ([] empties it).')
    try:
        warnings = project_settings.replace_allowlist(g.api_user, project.id, body["entries"])
    except Invalid as error:
        # The service names its form field; API callers sent `entries`.
        raise Invalid("entries", error.message) from None
    return jsonify({"entries": list(project.egress_allowlist or []), "warnings": warnings})
