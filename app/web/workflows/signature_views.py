"""The trigger panel's signing-secret box (project admins): whether a webhook trigger has a
signing secret, and setting or replacing it. The rest of the signature rule (header,
algorithm, timestamp header, window) is part of the workflow document and saved with it."""

from __future__ import annotations

import uuid

from flask import Response, render_template, request
from flask_login import login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.triggers import webhook_signature_settings
from app.web.access import project_access
from app.web.workflows import present
from app.web.workflows.blueprint import bp


@bp.get("/<uuid:workflow_id>/webhook-signature")
@login_required
def webhook_signature_form(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Whether the saved webhook trigger `trigger` (its key) has a signing secret, with the
    form to set or replace it; an unsaved trigger says to save first."""
    workflow = project_access(project_id, Role.ADMIN).workflow(workflow_id)
    key = request.args.get("trigger", "")
    trigger = present.trigger_with_key(workflow, key)
    ids = {"project_id": project_id, "workflow_id": workflow_id}
    return render_template("workflows/_webhook_signature_secret.html", trigger=trigger, ids=ids)


@bp.post("/<uuid:workflow_id>/triggers/<uuid:trigger_id>/signature-secret")
@login_required
def webhook_signature_secret(project_id: uuid.UUID, workflow_id: uuid.UUID, trigger_id: uuid.UUID):
    """Set the signing secret (typed, or made by Ferry and shown once); never echoed back."""
    workflow = project_access(project_id, Role.ADMIN).workflow(workflow_id)
    trigger = present.saved_trigger(workflow, trigger_id)
    made, error, saved = None, None, False
    try:
        made = webhook_signature_settings.set_secret(trigger.id, request.form.get("secret"))
        saved = True
    except Invalid as invalid:
        error = invalid.message
    html = render_template(
        "workflows/_webhook_signature_secret.html",
        trigger=trigger,
        made=made,
        saved=saved,
        error=error,
        ids={"project_id": project_id, "workflow_id": workflow_id},
    )
    return Response(html, status=422 if error else 200)
