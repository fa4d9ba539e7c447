"""Audit log pages: a project's (admins and owners) and the whole instance's (superusers)."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_login import login_required

from app.models import Role
from app.services import audit_log
from app.services.errors import Invalid
from app.web.access import project_access, superuser_only

bp = Blueprint("audit", __name__)


@bp.get("/projects/<uuid:project_id>/settings/audit")
@login_required
def project(project_id: uuid.UUID):
    """What happened in the project, newest first (admins and owners)."""
    access = project_access(project_id, needed=Role.ADMIN)
    page, error = _read(lambda **query: audit_log.project_page(project_id, **query))
    return _render(page, error, project=access.project, access=access)


@bp.get("/admin/audit")
@login_required
def instance():
    """Everything that happened on this Ferry, newest first (superusers; 404 for others)."""
    superuser_only()
    page, error = _read(audit_log.instance_page)
    return _render(page, error)


def _read(reader):
    """The page the query string asks for; a malformed one is a 400 with what to fix."""
    try:
        page = reader(
            event=request.args.get("event"),
            cursor=request.args.get("cursor"),
            limit=request.args.get("limit"),
        )
    except Invalid as problem:
        return None, problem
    return page, None


def _render(page, error: Invalid | None, **context):
    html = render_template(
        "audit/index.html", page=page, error=error, query=_kept_query(), **context
    )
    return html, 400 if error else 200


def _kept_query() -> dict[str, str]:
    """The filters the next-page link carries over (the cursor is replaced)."""
    return {key: request.args[key] for key in ("event", "limit") if request.args.get(key)}
