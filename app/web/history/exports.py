"""History exports: ask for a zip of the filtered history, follow its progress, download it.

Every member who may see the history (viewers and up) may export it and download the
project's exports; the role is checked on each request, the download included, so a member
removed since asking gets 404 like any outsider.
"""

from __future__ import annotations

import uuid

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from app.services.errors import Conflict, Invalid
from app.services.history.exports import lifecycle as exports
from app.web.access import ProjectAccess, project_access
from app.web.history.blueprint import bp
from app.web.history.forms import ExportForm


@bp.get("/projects/<uuid:project_id>/history/exports")
@login_required
def exports_page(project_id: uuid.UUID):
    """The project's recent exports with their progress, size, expiry and download."""
    access = project_access(project_id)
    return _page(access)


@bp.post("/projects/<uuid:project_id>/history/exports")
@login_required
def export_start(project_id: uuid.UUID):
    """Queue an export of the filter the history page showed, then show it on the list."""
    access = project_access(project_id)
    form = ExportForm()
    if not form.validate_on_submit():
        return _page(access, "The form was not complete; open the history page again.", 400)
    try:
        exports.request_export(
            current_user.id, project_id, request.form, form.include_dataclips.data
        )
    except Invalid as problem:
        return _page(access, error=f"The export was not started: {problem.message}", status=422)
    except Conflict as problem:
        return _page(access, error=problem.message, status=409)
    flash(
        "Export started. It appears below; you will also get an email when it is ready.", "success"
    )
    return redirect(url_for("history.exports_page", project_id=project_id), 303)


@bp.get("/projects/<uuid:project_id>/history/exports/<uuid:export_id>")
@login_required
def export_row(project_id: uuid.UUID, export_id: uuid.UUID):
    """One export's row, re-read from the database while its job runs."""
    access = project_access(project_id)
    return render_template(
        "history/_export_row.html",
        project=access.project,
        export=exports.get(project_id, export_id),
    )


@bp.get("/projects/<uuid:project_id>/history/exports/<uuid:export_id>/download")
@login_required
def export_download(project_id: uuid.UUID, export_id: uuid.UUID):
    """The export's zip, streamed part by part; 410 once its day is over."""
    access = project_access(project_id)
    try:
        found = exports.download(project_id, export_id, current_user.id)
    except exports.ExportExpired as gone:
        page = render_template(
            "history/export_expired.html", project=access.project, message=gone.message
        )
        return page, 410
    return Response(
        stream_with_context(found.chunks),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Content-Length": str(found.size),
            "Cache-Control": "private, no-store",
        },
    )


def _page(access: ProjectAccess, error: str | None = None, status: int = 200):
    """The exports page, with why an export was not started when one was refused."""
    html = render_template(
        "history/exports.html",
        project=access.project,
        exports=exports.recent(access.project.id),
        error=error,
    )
    return html, status
