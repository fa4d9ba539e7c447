"""The trigger panel's "next input" box: which stored state the next run of a cron trigger
would start from, for the panel's current (possibly unsaved) choice of input."""

from __future__ import annotations

import uuid

from flask import render_template, request
from flask_login import login_required

from app.services.errors import Invalid
from app.services.triggers import cron_cursor
from app.web.access import project_access
from app.web.workflows.blueprint import bp


@bp.get("/<uuid:workflow_id>/cron-input")
@login_required
def cron_next_input(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The dataclip the next cron run would receive (id, age, run, preview, link), or that
    it starts with {}; 400 naming the choice when `cron_input` is not one Ferry knows."""
    access = project_access(project_id)
    workflow = access.workflow(workflow_id)
    status, error, found = 200, None, None
    try:
        found = cron_cursor.for_panel(
            workflow.id, request.args.get("cron_input"), request.args.get("cron_input_job")
        )
    except Invalid as invalid:
        status, error = 400, invalid.message
    html = render_template(
        "workflows/_cron_next_input.html", found=found, error=error, project=access.project
    )
    return html, status
