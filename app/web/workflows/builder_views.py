"""The builder: the canvas page, saving (with its optimistic lock), live checks, and the
fragments its side panels load (cron preview, webhook auth, adaptor docs). The request
builder's fragments are in request_views, the run panel's in run_views."""

from __future__ import annotations

import uuid

from flask import Response, jsonify, render_template, request
from flask_login import current_user, login_required

from app.models import Role, WebhookAuth
from app.services import adaptor_catalog, parsing
from app.services.errors import Conflict, Invalid, NotFound
from app.services.studio import canvas as studio
from app.services.studio import checks as studio_checks
from app.services.studio import conflicts
from app.services.triggers import webhook_auth as triggers
from app.web.access import project_access
from app.web.workflows import present
from app.web.workflows.blueprint import bp
from app.web.workflows.forms import ImportForm
from app.web.workflows.present import builder_data, workflow_json


@bp.get("/<uuid:workflow_id>")
@login_required
def builder(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The canvas: the workflow drawn as a graph, with its panels and the run panel."""
    access = project_access(project_id)
    workflow = access.workflow(workflow_id)
    data = builder_data(access, workflow, studio.shared_credentials(project_id))
    return render_template(
        "workflows/builder.html",
        access=access,
        project=access.project,
        workflow=workflow,
        data=data,
        can_edit=access.can(Role.EDITOR),
        import_form=ImportForm(formdata=None),
        ids={"project_id": project_id, "workflow_id": workflow_id},
        preselected_input=_input_hint(request.args.get("input")),
    )


def _input_hint(value: str | None) -> uuid.UUID | None:
    """The stored input `?input=` asks the run panel to offer first (a template's sample
    after "Create from template"). Only a hint: a value that is not an id is ignored, and the
    choices list shows only inputs the project owns whatever it names."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@bp.post("/<uuid:workflow_id>/save")
@login_required
def save(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Save the canvas as a new snapshot: 409 when someone saved since, 422 naming the field."""
    project_access(project_id, Role.EDITOR).workflow(workflow_id)
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
            message=body.get("message"),
        )
    except Conflict as error:
        # Who saved since, and which version is current (the studio then asks for the diff).
        details = conflicts.summary(workflow_id, body["lock_version"])
        return jsonify({"error": error.message, "conflict": True, **details}), 409
    except Invalid as error:
        return jsonify({"error": error.message, "field": error.field}), 422
    return jsonify(workflow_json(saved))


@bp.post("/<uuid:workflow_id>/validate")
@login_required
def validate(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Every problem of the unsaved canvas at once, with the node or edge it concerns."""
    project_access(project_id).workflow(workflow_id)
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
    expression = request.args.get("cron_expression", "")
    try:
        ticks, error = studio.cron_preview(expression, timezone), None
    except Invalid as invalid:
        ticks, error = [], invalid.message
    html = render_template(
        "workflows/_cron_preview.html",
        ticks=ticks,
        error=error,
        expression=" ".join(expression.split()),
        timezone=timezone,
    )
    return Response(html, status=200)


@bp.get("/<uuid:workflow_id>/webhook-auth")
@login_required
def webhook_auth_form(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """How callers of the saved webhook trigger `trigger` (its key) authenticate, with the
    form to change it (admins); an unsaved trigger says to save first."""
    workflow = project_access(project_id, Role.ADMIN).workflow(workflow_id)
    key = request.args.get("trigger", "")
    trigger = present.trigger_with_key(workflow, key)
    ids = {"project_id": project_id, "workflow_id": workflow_id}
    return render_template("workflows/_webhook_auth.html", trigger=trigger, ids=ids)


@bp.post("/<uuid:workflow_id>/triggers/<uuid:trigger_id>/auth")
@login_required
def webhook_auth(project_id: uuid.UUID, workflow_id: uuid.UUID, trigger_id: uuid.UUID):
    """Set how webhook callers authenticate (admins); the new secret is shown once."""
    workflow = project_access(project_id, Role.ADMIN).workflow(workflow_id)
    trigger = present.saved_trigger(workflow, trigger_id)
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
        trigger=trigger,
        secret=secret,
        error=error,
        # After an error the form keeps what was chosen and typed.
        chosen=request.form.get("method") if error else None,
        username=request.form.get("username") if error else None,
        ids={"project_id": project_id, "workflow_id": workflow_id},
    )
    return Response(html, status=422 if error else 200)


@bp.get("/adaptor-docs")
@login_required
def adaptor_docs(project_id: uuid.UUID):
    """The operations of the adaptor `adaptor` with their parameters and examples, and for
    editors the request builder's toolbar for it (out of band)."""
    access = project_access(project_id)
    name = request.args.get("adaptor", "")
    spec = adaptor_catalog.spec(name) if name else None
    if name and spec is None:
        raise NotFound("There is no such adaptor.")
    return render_template(
        "workflows/_adaptor_docs.html",
        spec=spec,
        toolbar=access.can(Role.EDITOR),
        ids={"project_id": project_id},
    )


# The request builder's fragments, the cron trigger's next input, the egress warning, version
# history and edit safety (who else has it open, a refused save explained) register on the
# same blueprint.
from app.web.workflows import (  # noqa: E402, F401
    cron_views,
    egress_views,
    presence_views,
    request_views,
    signature_views,
    version_views,
)
