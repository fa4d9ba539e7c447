"""The workflows list: create (empty or from YAML), rename, switch on/off, delete, export."""

from __future__ import annotations

import uuid

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.studio import canvas
from app.services.workflow_templates import catalog as workflow_templates
from app.services.workflow_templates import saving
from app.services.workflows import export as workflow_export
from app.services.workflows import store
from app.services.workflows.documents import Problem
from app.web import htmx
from app.web.access import project_access
from app.web.navigation import NavItem
from app.web.workflows.blueprint import bp
from app.web.workflows.forms import DeleteForm, ImportForm, WorkflowNameForm
from app.web.workflows.present import webhook_urls

NAV = NavItem("Workflows", "diagram-3", "workflows.index", 10)

# The builder's and the run panel's routes live in their own modules on the same blueprint.
from app.web.workflows import builder_views, run_views, template_views  # noqa: E402, F401


@bp.get("")
@login_required
def index(project_id: uuid.UUID):
    """The project's workflows with trigger, on/off, last run and 7-day counts."""
    access = project_access(project_id)
    rows = canvas.workflow_rows(project_id)
    return render_template(
        "workflows/index.html",
        access=access,
        project=access.project,
        rows=rows,
        can_edit=access.can(Role.EDITOR),
        can_admin=access.can(Role.ADMIN),
        webhook_urls=webhook_urls,
    )


@bp.get("/new")
@login_required
def new(project_id: uuid.UUID):
    """Create a workflow: from a template, empty, or from pasted YAML."""
    access = project_access(project_id, Role.EDITOR)
    return _new_page(access, WorkflowNameForm(), ImportForm())


def _new_page(access, name_form, import_form, status: int = 200):
    is_admin = access.can(Role.ADMIN)
    html = render_template(
        "workflows/new.html",
        access=access,
        project=access.project,
        form=name_form,
        import_form=import_form,
        templates=workflow_templates.all_templates(),
        can_delete=lambda t: saving.can_delete(current_user, t.saved_by_id),
        # Admins may save any of the project's workflows as a template.
        own_workflows=store.list_workflows(access.project.id) if is_admin else [],
    )
    return html, status


@bp.post("")
@login_required
def create(project_id: uuid.UUID):
    """Create an empty workflow and open it in the builder."""
    access = project_access(project_id, Role.EDITOR)
    form = WorkflowNameForm()
    if not form.validate_on_submit():
        return _new_page(access, form, ImportForm(formdata=None), 422)
    try:
        workflow = canvas.new_workflow(project_id, form.name.data, current_user.id)
    except Invalid as error:
        form.name.errors.append(error.message)
        return _new_page(access, form, ImportForm(formdata=None), 422)
    return redirect(url_for("workflows.builder", project_id=project_id, workflow_id=workflow.id))


@bp.post("/import")
@login_required
def import_yaml(project_id: uuid.UUID):
    """Create a workflow from pasted YAML; errors name the field to fix."""
    access = project_access(project_id, Role.EDITOR)
    form = ImportForm()
    error = None
    if form.validate_on_submit():
        try:
            workflow = canvas.import_workflow(project_id, form.document.data, current_user.id)
        except Invalid as invalid:
            error = invalid
        else:
            target = url_for("workflows.builder", project_id=project_id, workflow_id=workflow.id)
            if htmx.is_fragment_request():
                return htmx.redirect_client(Response(status=204), target)
            return redirect(target)
    if error is not None:
        # A document's every problem, each with its path; any other refusal on its own.
        problems = getattr(error, "problems", None) or [Problem(error.field, error.message)]
        for problem in problems:
            where = f"{problem.path}: " if problem.path else ""
            form.document.errors.append(f"{where}{problem.message}")
    if htmx.is_fragment_request():
        html = render_template("workflows/_import_form.html", project=access.project, form=form)
        return htmx.vary_on_htmx(Response(html, status=422))
    return _new_page(access, WorkflowNameForm(formdata=None), form, 422)


@bp.get("/<uuid:workflow_id>/rename")
@login_required
def rename_form(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The rename form."""
    access = project_access(project_id, Role.EDITOR)
    workflow = access.workflow(workflow_id)
    form = WorkflowNameForm(data={"name": workflow.name})
    return render_template(
        "workflows/rename.html", access=access, project=access.project, workflow=workflow, form=form
    )


@bp.post("/<uuid:workflow_id>/rename")
@login_required
def rename(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Rename a workflow (a duplicate name is refused next to the field)."""
    access = project_access(project_id, Role.EDITOR)
    workflow = access.workflow(workflow_id)
    form = WorkflowNameForm()
    if form.validate_on_submit():
        try:
            canvas.rename_workflow(workflow.id, project_id, form.name.data, current_user.id)
        except Invalid as error:
            form.name.errors.append(error.message)
        else:
            flash("Workflow renamed.", "success")
            return redirect(url_for("workflows.index", project_id=project_id))
    html = render_template(
        "workflows/rename.html", access=access, project=access.project, workflow=workflow, form=form
    )
    return html, 422


@bp.get("/<uuid:workflow_id>/delete")
@login_required
def delete_form(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Ask to type the name before deleting."""
    access = project_access(project_id, Role.EDITOR)
    workflow = access.workflow(workflow_id)
    return render_template(
        "workflows/delete.html",
        access=access,
        project=access.project,
        workflow=workflow,
        form=DeleteForm(),
    )


@bp.post("/<uuid:workflow_id>/delete")
@login_required
def delete(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Delete a workflow once its name was typed; its run history stays."""
    access = project_access(project_id, Role.EDITOR)
    workflow = access.workflow(workflow_id)
    form = DeleteForm()
    if form.validate_on_submit() and form.confirm.data.strip() == workflow.name:
        store.delete_workflow(workflow.id, project_id, actor_id=current_user.id)
        flash(f"Workflow “{workflow.name}” deleted. Its run history is kept.", "success")
        return redirect(url_for("workflows.index", project_id=project_id))
    form.confirm.errors.append("Type the name exactly as shown to delete this workflow.")
    html = render_template(
        "workflows/delete.html",
        access=access,
        project=access.project,
        workflow=workflow,
        form=form,
    )
    return html, 422


@bp.post("/<uuid:workflow_id>/enabled")
@login_required
def set_enabled(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Switch the workflow's triggers on or off; htmx swaps the list row."""
    access = project_access(project_id, Role.EDITOR)
    enabled = request.form.get("enabled") == "true"
    error = None
    try:
        canvas.set_enabled(workflow_id, project_id, enabled, current_user.id)
    except Invalid as invalid:
        error = invalid.message
    row = next(r for r in canvas.workflow_rows(project_id) if r.workflow.id == workflow_id)
    if htmx.is_fragment_request():
        html = render_template(
            "workflows/_row.html",
            row=row,
            error=error,
            can_edit=access.can(Role.EDITOR),
            can_admin=access.can(Role.ADMIN),
            webhook_urls=webhook_urls,
        )
        return htmx.vary_on_htmx(Response(html, status=422 if error else 200))
    flash(
        error or ("Workflow switched on." if enabled else "Workflow switched off."),
        "danger" if error else "success",
    )
    return redirect(url_for("workflows.index", project_id=project_id))


@bp.get("/<uuid:workflow_id>/yaml")
@login_required
def export(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The saved workflow as YAML to read, copy or download (a fragment for the builder)."""
    access = project_access(project_id)
    workflow = access.workflow(workflow_id)
    text = workflow_export.export_yaml(workflow)
    if request.args.get("download"):
        filename = "".join(c if c.isalnum() or c in "-_" else "-" for c in workflow.name.lower())
        return Response(
            text,
            mimetype="application/yaml",
            headers={"Content-Disposition": f'attachment; filename="{filename or "wf"}.yaml"'},
        )
    context = dict(access=access, project=access.project, workflow=workflow, yaml_text=text)
    if htmx.is_fragment_request():
        return htmx.vary_on_htmx(Response(render_template("workflows/_yaml.html", **context)))
    return htmx.vary_on_htmx(Response(render_template("workflows/yaml.html", **context)))
