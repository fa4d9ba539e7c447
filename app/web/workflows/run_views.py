"""Running from the builder: start a run, its live progress, a step's input/output/logs, and
the inputs to choose from (saved test inputs, recent runs' inputs)."""

from __future__ import annotations

import json
import uuid

from flask import Response, jsonify, render_template, request
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.studio import run_panel
from app.web import htmx
from app.web.access import project_access
from app.web.workflows.blueprint import bp

TABS = ("input", "output", "logs")


def _uuid_or_none(value: str | None, field: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(field, f"{field} is not an id.") from None


@bp.post("/<uuid:workflow_id>/runs")
@login_required
def start_run(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Start a manual run from the builder with the chosen input, whole or from a step."""
    project_access(project_id, Role.EDITOR)
    try:
        run = run_panel.start_run(
            workflow_id,
            project_id,
            current_user.id,
            source=request.form.get("source", "empty"),
            custom_text=request.form.get("custom"),
            dataclip_id=_uuid_or_none(request.form.get("dataclip_id"), "dataclip_id"),
            step_id=_uuid_or_none(request.form.get("step_id"), "step_id"),
        )
    except Invalid as error:
        return jsonify({"error": error.message, "field": error.field}), 422
    return jsonify({"run_id": str(run.id), "work_order_id": str(run.work_order_id)}), 201


@bp.get("/<uuid:workflow_id>/runs/<uuid:run_id>/progress")
@login_required
def run_progress(project_id: uuid.UUID, workflow_id: uuid.UUID, run_id: uuid.UUID):
    """The run's state and each step's state, polled by the canvas until the run is final."""
    project_access(project_id)
    return jsonify(run_panel.progress(run_id, project_id))


@bp.get("/<uuid:workflow_id>/runs/<uuid:run_id>/step")
@login_required
def step_tab(project_id: uuid.UUID, workflow_id: uuid.UUID, run_id: uuid.UUID):
    """One tab (input, output or logs) of the selected step in the run."""
    project_access(project_id)
    tab = request.args.get("tab", "output")
    if tab not in TABS:
        raise Invalid("tab", "Choose input, output or logs.")
    level = request.args.get("level") or None
    step_id = _uuid_or_none(request.args.get("step_id"), "step_id")
    detail = run_panel.step_detail(run_id, project_id, step_id, level) if step_id else None
    body = None
    if detail is not None and tab != "logs":
        value = detail.input_body if tab == "input" else detail.output_body
        body = None if value is None else json.dumps(value, indent=2, ensure_ascii=False)
    html = render_template(
        "workflows/_step_tab.html", tab=tab, detail=detail, body=body, level=level or "debug"
    )
    return htmx.vary_on_htmx(Response(html))


@bp.get("/<uuid:workflow_id>/inputs/<uuid:dataclip_id>")
@login_required
def input_body(project_id: uuid.UUID, workflow_id: uuid.UUID, dataclip_id: uuid.UUID):
    """A stored input's body, to preview it before running."""
    project_access(project_id)
    return jsonify({"body": run_panel.input_preview(project_id, dataclip_id)})


@bp.get("/<uuid:workflow_id>/inputs")
@login_required
def inputs(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The stored inputs the run panel offers."""
    project_access(project_id)
    choices = run_panel.input_choices(workflow_id, project_id)
    return render_template("workflows/_input_choices.html", choices=choices, selected=None)


@bp.post("/<uuid:workflow_id>/inputs")
@login_required
def save_input(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Keep the current input as a named test case; answers with the refreshed choices."""
    project_access(project_id, Role.EDITOR)
    source = request.form.get("source")
    try:
        clip = run_panel.save_input(
            project_id,
            request.form.get("name", ""),
            custom_text=request.form.get("custom") if source == "custom" else None,
            dataclip_id=_uuid_or_none(request.form.get("dataclip_id"), "dataclip_id")
            if source == "stored"
            else None,
        )
    except Invalid as error:
        return jsonify({"error": error.message, "field": error.field}), 422
    choices = run_panel.input_choices(workflow_id, project_id)
    return render_template(
        "workflows/_input_choices.html", choices=choices, selected=clip.id, saved_name=clip.name
    )
