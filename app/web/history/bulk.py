"""Bulk actions on the history page: confirm how many work orders are affected, then rerun
(in the background, with a progress bar) or cancel pending runs. Editors only."""

from __future__ import annotations

import uuid

from flask import render_template, request
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.history import bulk as history_bulk
from app.web.access import project_access
from app.web.history.blueprint import bp


@bp.post("/projects/<uuid:project_id>/history/bulk/preview")
@login_required
def bulk_preview(project_id: uuid.UUID):
    """The confirmation: how many work orders (and pending runs) the action would touch."""
    access = project_access(project_id, Role.EDITOR)
    try:
        selection = history_bulk.selection_from_form(request.form)
        preview = history_bulk.preview(project_id, selection, request.form.get("action", ""))
    except Invalid as error:
        return render_template("history/_bulk_message.html", level="warning", message=error.message)
    return render_template(
        "history/_bulk_confirm.html",
        project=access.project,
        preview=preview,
        carried=_carried_fields(),
    )


@bp.post("/projects/<uuid:project_id>/history/bulk")
@login_required
def bulk_start(project_id: uuid.UUID):
    """Run the confirmed action: queue the reruns, or cancel the pending runs."""
    access = project_access(project_id, Role.EDITOR)
    action = request.form.get("action")
    try:
        selection = history_bulk.selection_from_form(request.form)
        if action == "cancel":
            cancelled = history_bulk.cancel_pending(project_id, selection)
            message = f"Cancelled {cancelled:,} pending run{'s' if cancelled != 1 else ''}."
            return render_template("history/_bulk_message.html", level="success", message=message)
        if action != "rerun":
            raise Invalid("action", "Choose rerun or cancel.")
        step = request.form.get("step") if request.form.get("start") == "step" else None
        bulk_rerun_id = history_bulk.rerun(project_id, current_user.id, selection, step or None)
    except Invalid as error:
        return render_template("history/_bulk_message.html", level="warning", message=error.message)
    return _progress(access, history_bulk.progress(project_id, bulk_rerun_id))


@bp.get("/projects/<uuid:project_id>/history/bulk/<uuid:bulk_rerun_id>")
@login_required
def bulk_progress(project_id: uuid.UUID, bulk_rerun_id: uuid.UUID):
    """How far a bulk rerun has got, read from its row; the bar asks again until it is done."""
    access = project_access(project_id, Role.EDITOR)
    return _progress(access, history_bulk.progress(project_id, bulk_rerun_id))


@bp.post("/projects/<uuid:project_id>/history/bulk/<uuid:bulk_rerun_id>/resume")
@login_required
def bulk_resume(project_id: uuid.UUID, bulk_rerun_id: uuid.UUID):
    """Queue a stalled or failed bulk rerun again for the work orders it has left."""
    access = project_access(project_id, Role.EDITOR)
    return _progress(access, history_bulk.resume(project_id, bulk_rerun_id))


def _progress(access, progress):
    """The one progress fragment every bulk rerun view answers with."""
    return render_template("history/_bulk_progress.html", project=access.project, progress=progress)


def _carried_fields() -> list[tuple[str, str]]:
    """The posted selection (ids or filter fields), carried into the confirmation form."""
    skipped = {"csrf_token", "action"}
    return [(key, value) for key, value in request.form.items(multi=True) if key not in skipped]
