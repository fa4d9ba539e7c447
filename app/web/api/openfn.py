"""API: importing an OpenFn Lightning project.yaml as a new project (the token's user becomes
its owner, as with POST /projects); `?dry_run=true` answers what would be created."""

from __future__ import annotations

from flask import g, jsonify, request

from app.services.project_code import openfn
from app.web.api import body as read
from app.web.api import serialize
from app.web.api.blueprint import bp
from app.web.api.openapi import SPEC, _op


@bp.post("/projects/openfn_import")
def import_openfn_project():
    """Create a project from a Lightning project.yaml (YAML or JSON body)."""
    text = request.get_data()
    if read.query_text("dry_run", 10) in ("true", "1"):
        document, notes = openfn.convert(text)
        return jsonify({"document": document, "notes": [n.as_dict() for n in notes]})
    project, notes = openfn.import_project(text, g.api_user)
    answer = {"project": serialize.project(project), "notes": [n.as_dict() for n in notes]}
    return jsonify(answer), 201


# Described here, next to the route, so the OpenAPI document grows with the API's modules.
_IMPORT = _op(
    "Create a project from an OpenFn Lightning project.yaml (you become its owner). "
    "Job bodies arrive as comments under a 'port this job' banner, credentials as "
    "placeholders, triggers switched off; the answer's notes list what to finish. "
    "?dry_run=true answers the Ferry project document and the notes, creating nothing. "
    "A document that cannot be imported answers 422 with every problem at its path.",
    params=[("dry_run", "query")],
    body={
        "application/yaml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
    },
    ok="201",
)
_IMPORT["description"] = "Any user with an API token may import, as with POST /projects."
SPEC["paths"]["/projects/openfn_import"] = {"post": _IMPORT}
