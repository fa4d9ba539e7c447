"""The builder: the canvas page, saving (with its optimistic lock), live checks, and the
fragments its panels load (cron preview, webhook auth, adaptor docs, request builder)."""

from __future__ import annotations

import uuid

from flask import Response, jsonify, render_template, request
from flask_login import current_user, login_required

from app.models import Role, WebhookAuth
from app.services import adaptor_catalog, parsing
from app.services.errors import Conflict, Invalid, NotFound
from app.services.studio import canvas as studio
from app.services.studio import checks as studio_checks
from app.services.studio import reopen, request_builder, run_panel
from app.services.triggers import webhook_auth as triggers
from app.services.workflows import store
from app.web.access import project_access
from app.web.workflows.blueprint import bp
from app.web.workflows.forms import ImportForm
from app.web.workflows.present import builder_data, workflow_json


@bp.get("/<uuid:workflow_id>")
@login_required
def builder(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The canvas: the workflow drawn as a graph, with its panels and the run panel."""
    access = project_access(project_id)
    workflow = store.get_workflow(workflow_id, project_id)
    data = builder_data(access, workflow, studio.shared_credentials(project_id))
    return render_template(
        "workflows/builder.html",
        access=access,
        project=access.project,
        workflow=workflow,
        data=data,
        can_edit=access.can(Role.EDITOR),
        import_form=ImportForm(formdata=None),
    )


@bp.post("/<uuid:workflow_id>/save")
@login_required
def save(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Save the canvas as a new snapshot: 409 when someone saved since, 422 naming the field."""
    project_access(project_id, Role.EDITOR)
    body, unreadable = _json_body()
    if unreadable is not None:
        return unreadable
    if not isinstance(body, dict) or not isinstance(body.get("lock_version"), int):
        return jsonify({"error": "Send the document, positions and lock_version as JSON."}), 400
    try:
        saved = studio.save_canvas(
            workflow_id,
            project_id,
            body.get("document"),
            body.get("positions"),
            body["lock_version"],
            current_user.id,
        )
    except Conflict as error:
        return jsonify({"error": error.message, "conflict": True}), 409
    except Invalid as error:
        return jsonify({"error": error.message, "field": error.field}), 422
    return jsonify(workflow_json(saved))


@bp.post("/<uuid:workflow_id>/validate")
@login_required
def validate(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Every problem of the unsaved canvas at once, with the node or edge it concerns."""
    project_access(project_id)
    body, unreadable = _json_body()
    if unreadable is not None:
        return unreadable
    document = body.get("document") if isinstance(body, dict) else None
    problems = studio_checks.validate_canvas(project_id, document)
    return jsonify({"problems": [p.as_dict() for p in problems]})


def _json_body():
    """The JSON body, or a 400 reply saying why it cannot be read (malformed, too deep)."""
    try:
        return parsing.load_json(request.get_data(), field="body", what="The body"), None
    except Invalid as error:
        return None, (jsonify({"error": error.message, "field": error.field}), 400)


@bp.get("/cron-preview")
@login_required
def cron_preview(project_id: uuid.UUID):
    """The next five fire times of the typed expression, or why it is not valid."""
    project_access(project_id)
    timezone = request.args.get("cron_timezone") or "UTC"
    try:
        ticks, error = studio.cron_preview(request.args.get("cron_expression", ""), timezone), None
    except Invalid as invalid:
        ticks, error = [], invalid.message
    html = render_template("workflows/_cron_preview.html", ticks=ticks, error=error)
    return Response(html, status=200)


@bp.post("/<uuid:workflow_id>/triggers/<uuid:trigger_id>/auth")
@login_required
def webhook_auth(project_id: uuid.UUID, workflow_id: uuid.UUID, trigger_id: uuid.UUID):
    """Set how webhook callers authenticate (admins); the new secret is shown once."""
    access = project_access(project_id, Role.ADMIN)
    workflow = store.get_workflow(workflow_id, project_id)
    trigger = next((t for t in workflow.triggers if t.id == trigger_id), None)
    if trigger is None:
        raise NotFound("There is no such trigger in this workflow.")
    secret, error = None, None
    try:
        method = WebhookAuth(request.form.get("method", ""))
        secret = triggers.configure_webhook_auth(
            trigger.id, method, username=request.form.get("username")
        )
    except ValueError:
        error = "Choose none, API key or Basic."
    except Invalid as invalid:
        error = invalid.message
    html = render_template(
        "workflows/_webhook_auth.html",
        access=access,
        trigger=trigger,
        secret=secret,
        error=error,
        action=request.path,
    )
    return Response(html, status=422 if error else 200)


@bp.get("/adaptors/<name>")
@login_required
def adaptor_docs(project_id: uuid.UUID, name: str):
    """The adaptor's operations with their parameters and examples."""
    project_access(project_id)
    spec = adaptor_catalog.spec(name)
    if spec is None:
        raise NotFound("There is no such adaptor.")
    return render_template("workflows/_adaptor_docs.html", spec=spec)


@bp.get("/request-form")
@login_required
def request_form(project_id: uuid.UUID):
    """An empty request form for one operation of an adaptor."""
    project_access(project_id, Role.EDITOR)
    args = request.args
    form = request_builder.form_for(args.get("adaptor", ""), args.get("operation", ""))
    return render_template("workflows/_request_form.html", form=form)


@bp.post("/request-form")
@login_required
def reopen_line(project_id: uuid.UUID):
    """The request form filled from a line of the body, or why the line cannot be reopened."""
    project_access(project_id, Role.EDITOR)
    try:
        form = reopen.parse_line(request.form.get("adaptor", ""), request.form.get("line", ""))
    except Invalid as error:
        return jsonify({"error": error.message, "field": error.field}), 422
    return render_template("workflows/_request_form.html", form=form)


@bp.post("/request-line")
@login_required
def request_line(project_id: uuid.UUID):
    """The line of code the request form describes."""
    project_access(project_id, Role.EDITOR)
    try:
        line = request_builder.line_from_form(
            request.form.get("adaptor", ""), request.form.get("operation", ""), request.form
        )
    except Invalid as error:
        return jsonify({"error": error.message, "field": error.field}), 422
    return jsonify({"line": line})


@bp.get("/<uuid:workflow_id>/input-paths")
@login_required
def input_paths(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Field paths of the workflow's latest input, for 'value from input' pickers."""
    project_access(project_id)
    return jsonify({"paths": run_panel.input_paths(workflow_id, project_id)})
