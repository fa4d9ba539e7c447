"""Templates on "Create workflow": use one (a form with its name, address and credentials),
save a workflow as a template for the instance, and delete a saved template."""

from __future__ import annotations

import json
import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields import SelectChoice

from app.models import Role
from app.services.errors import Invalid
from app.services.workflow_templates import catalog, saving, use
from app.web.access import project_access
from app.web.workflows.blueprint import bp
from app.web.workflows.forms import DeleteTemplateForm, SaveAsTemplateForm, UseTemplateForm


@bp.get("/templates/<string:template_key>")
@login_required
def use_template_form(project_id: uuid.UUID, template_key: str):
    """A template's description, what to set, and the form that creates a workflow from it."""
    access = project_access(project_id, Role.EDITOR)
    template = catalog.get_template(template_key)
    form = UseTemplateForm(data={"name": template.document.get("name") or template.title})
    return _use_page(access, template, form)


@bp.post("/templates/<string:template_key>")
@login_required
def use_template(project_id: uuid.UUID, template_key: str):
    """Create the workflow and its sample input, then open it in the builder."""
    access = project_access(project_id, Role.EDITOR)
    template = catalog.get_template(template_key)
    form = UseTemplateForm()
    answers = {s.key: request.form.get(s.key, "") for s in template.settings}
    chosen = {
        slot.job_key: request.form.get(f"credential-{slot.job_key}", "")
        for slot in template.credential_slots
    }
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            created = use.create_from_template(
                project_id,
                template.key,
                form.name.data,
                current_user.id,
                settings=answers,
                credentials=chosen,
            )
        except Invalid as error:
            if error.field == "name":
                form.name.errors.append(error.message)
            else:
                errors[error.field or ""] = error.message
        else:
            if created.sample_input_id:
                flash(
                    f"Created from “{template.title}”. Its sample input is saved as a test "
                    "input: open Run, choose “Saved or recent” and press Run.",
                    "success",
                )
            target = url_for(
                "workflows.builder",
                project_id=project_id,
                workflow_id=created.workflow.id,
                input=created.sample_input_id,
            )
            return redirect(target)
    return _use_page(access, template, form, answers, chosen, errors, 422)


def _use_page(access, template, form, answers=None, chosen=None, errors=None, status=200):
    html = render_template(
        "workflows/templates/use.html",
        access=access,
        project=access.project,
        template=template,
        form=form,
        answers=answers or {},
        chosen=chosen or {},
        errors=errors or {},
        credential_choices=use.credential_choices(access.project.id, template),
        sample_text=json.dumps(template.sample_input, indent=2, ensure_ascii=False)
        if template.sample_input is not None
        else None,
    )
    return html, status


@bp.get("/<uuid:workflow_id>/save_as_template")
@login_required
def save_as_template_form(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The form saving a workflow as a template for every project (project admins)."""
    access = project_access(project_id, Role.ADMIN)
    workflow = access.workflow(workflow_id)
    form = SaveAsTemplateForm(data={"name": workflow.name, "sample": saving.NO_SAMPLE})
    return _save_page(access, workflow, form)


@bp.post("/<uuid:workflow_id>/save_as_template")
@login_required
def save_as_template(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Save the workflow as a template (no credentials, secrets masked), back to the list."""
    access = project_access(project_id, Role.ADMIN)
    workflow = access.workflow(workflow_id)
    form = SaveAsTemplateForm()
    if form.validate_on_submit():
        try:
            row = saving.save_as_template(
                project_id,
                workflow.id,
                current_user.id,
                name=form.name.data,
                description=form.description.data,
                sample=form.sample.data,
            )
        except Invalid as error:
            getattr(form, error.field, form.name).errors.append(error.message)
        else:
            flash(
                f"Saved as the template “{row.name}”: every project can start from it now.",
                "success",
            )
            return redirect(url_for("workflows.new", project_id=project_id))
    return _save_page(access, workflow, form, 422)


def _save_page(access, workflow, form, status=200):
    choices = saving.sample_choices(workflow.id, access.project.id)
    form.sample.choices = [SelectChoice(c.value, c.label) for c in choices]
    html = render_template(
        "workflows/templates/save.html",
        access=access,
        project=access.project,
        workflow=workflow,
        form=form,
    )
    return html, status


@bp.get("/templates/<uuid:template_id>/delete")
@login_required
def delete_template_form(project_id: uuid.UUID, template_id: uuid.UUID):
    """Ask before deleting a saved template (its saver or a superuser)."""
    access = project_access(project_id, Role.EDITOR)
    saving.deletable_template(template_id, current_user)
    template = catalog.get_template(str(template_id))
    return _delete_page(access, template, DeleteTemplateForm())


@bp.post("/templates/<uuid:template_id>/delete")
@login_required
def delete_template(project_id: uuid.UUID, template_id: uuid.UUID):
    """Delete a saved template; workflows created from it stay as they are."""
    access = project_access(project_id, Role.EDITOR)
    form = DeleteTemplateForm()
    if not form.validate_on_submit():
        saving.deletable_template(template_id, current_user)
        template = catalog.get_template(str(template_id))
        return _delete_page(access, template, form, 422)
    name = saving.delete_template(template_id, current_user)
    flash(f"Template “{name}” deleted. Workflows created from it are not changed.", "success")
    return redirect(url_for("workflows.new", project_id=project_id))


def _delete_page(access, template, form, status=200):
    html = render_template(
        "workflows/templates/delete.html",
        access=access,
        project=access.project,
        template=template,
        form=form,
    )
    return html, status
