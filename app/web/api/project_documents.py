"""API: a whole project as one document (project.yaml), read, planned, applied or created
(the provisioning API that `ferry pull` and `ferry deploy` speak)."""

from __future__ import annotations

import uuid

from flask import Response, g, jsonify

from app.models import Role
from app.services.errors import Forbidden
from app.services.project_code import document, importing
from app.web.api import body as read
from app.web.api.access import project_for
from app.web.api.blueprint import bp

_FORMATS = ("json", "yaml")


@bp.get("/projects/<uuid:project_id>/document")
def get_project_document(project_id: uuid.UUID):
    """The project as a document: JSON, or YAML with ?format=yaml; ?ids=true adds ids."""
    project = project_for(project_id, Role.VIEWER)
    as_yaml = _format() == "yaml"
    exported = document.export_project(project.id, with_ids=_flag("ids"))
    if as_yaml:
        return Response(document.to_yaml(exported), mimetype="application/yaml")
    return jsonify(exported)


@bp.put("/projects/<uuid:project_id>/document")
def put_project_document(project_id: uuid.UUID):
    """Make the project match a document (YAML or JSON); ?dry_run=true only says what would
    change. 422 lists every problem with its path, and then nothing is changed."""
    project = project_for(project_id, Role.ADMIN)
    dry_run = _flag("dry_run")
    sent = read.document()
    if dry_run:
        found = importing.plan_project(sent, project.id, actor=g.api_user)
    else:
        found = importing.apply_project(sent, g.api_user, project_id=project.id).changes
    return jsonify(_answer(project.id, found, dry_run))


@bp.post("/projects/document")
def create_project_document():
    """Create a project from a document (superusers only); the caller becomes its owner."""
    if not g.api_user.is_superuser:
        raise Forbidden("Only superusers create projects from a document.")
    dry_run = _flag("dry_run")
    sent = read.document()
    if dry_run:
        found = importing.plan_project(sent, None, actor=g.api_user)
        return jsonify({"document": None, "changes": _changes(found), "dry_run": True})
    result = importing.apply_project(sent, g.api_user)
    return jsonify(_answer(result.project.id, result.changes, False)), 201


def _answer(project_id: uuid.UUID, found: list, dry_run: bool) -> dict:
    answer = {
        "document": document.export_project(project_id, with_ids=True),
        "changes": _changes(found),
    }
    if dry_run:
        answer["dry_run"] = True
    return answer


def _changes(found: list) -> list[dict]:
    return [{"path": change.path, "kind": change.kind} for change in found]


def _format() -> str:
    value = (read.query_text("format", 10) or "json").lower()
    if value not in _FORMATS:
        raise read.Unreadable("format", "format is json or yaml, e.g. ?format=yaml.")
    return value


def _flag(name: str) -> bool:
    """A true/false query parameter (absent is false)."""
    value = (read.query_text(name, 10) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise read.Unreadable(name, f"{name} is true or false, e.g. ?{name}=true.")
    return value in ("true", "1")
