"""The data mapper's fragments: the samples to choose from, the chosen one as a tree, and the
preview of the request the open form would send for its first record."""

from __future__ import annotations

import uuid

from flask import make_response, render_template, request
from flask_login import login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.studio import preview, samples
from app.web import htmx
from app.web.access import project_access
from app.web.workflows.blueprint import bp


def _ids(project_id: uuid.UUID, workflow_id: uuid.UUID) -> dict:
    return {"project_id": project_id, "workflow_id": workflow_id}


def _step_id() -> uuid.UUID | None:
    """The selected step's saved id (none for a step not saved yet, or a crafted value)."""
    try:
        return uuid.UUID(request.form.get("step_id", ""))
    except ValueError:
        return None


def _sample(project_id: uuid.UUID, workflow_id: uuid.UUID) -> samples.Sample:
    return samples.load(
        workflow_id,
        project_id,
        request.form.get("sample") or "last",
        pasted=request.form.get("sample_json", ""),
        step_id=_step_id(),
    )


@bp.get("/<uuid:workflow_id>/samples")
@login_required
def sample_choices(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The samples the data mapper offers, keeping the chosen one selected."""
    project_access(project_id, Role.EDITOR).workflow(workflow_id)
    return render_template(
        "workflows/_sample_choices.html",
        choices=samples.choices(workflow_id, project_id),
        selected=request.args.get("sample", "last"),
    )


@bp.post("/<uuid:workflow_id>/sample")
@login_required
def sample_tree(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The chosen sample as a tree of fields, or 422 with why a pasted one cannot be used
    (next to the paste box)."""
    project_access(project_id, Role.EDITOR).workflow(workflow_id)
    try:
        sample = _sample(project_id, workflow_id)
    except Invalid as error:
        html = render_template(
            "workflows/_sample_tree.html",
            sample=samples.Sample(None, "", "This sample cannot be used."),
            message=error.message,
            describe=samples.describe,
            paths=samples.paths_in,
        )
        return make_response(html, 422)
    html = render_template(
        "workflows/_sample_tree.html",
        sample=sample,
        message="",
        describe=samples.describe,
        paths=samples.paths_in,
    )
    return htmx.trigger(make_response(html), "ferry:sample-loaded")


@bp.post("/<uuid:workflow_id>/request-preview")
@login_required
def request_preview(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The request the open form would send for the first record of the sample."""
    project_access(project_id, Role.EDITOR).workflow(workflow_id)
    result = None
    if request.form.get("operation"):
        try:
            state = _sample(project_id, workflow_id).state
        except Invalid:
            result = preview.Preview(problem="Fix the sample above to see the request.")
        else:
            result = preview.preview(
                request.form.get("adaptor", ""), request.form["operation"], request.form, state
            )
    return render_template("workflows/_preview.html", result=result)
