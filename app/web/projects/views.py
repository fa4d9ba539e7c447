"""The projects list, creating a project, and a project's overview page."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services import projects as project_service
from app.services.deletions import projects as project_deletion
from app.services.errors import Invalid
from app.services.studio import canvas
from app.web.access import project_access
from app.web.navigation import NavItem
from app.web.projects.blueprint import bp
from app.web.projects.forms import ProjectForm

NAV = NavItem("Overview", "speedometer2", "projects.show", 0)

# Importing an OpenFn project lives in its own module on the same blueprint.
from app.web.projects import openfn_views  # noqa: E402, F401


@bp.get("/")
@login_required
def index():
    """The projects the current user belongs to."""
    rows = project_service.projects_for_user(current_user)
    scheduled = project_deletion.scheduled_for(current_user)
    return render_template("projects/index.html", rows=rows, scheduled=scheduled)


@bp.post("/projects/<uuid:project_id>/deletion/cancel")
@login_required
def cancel_deletion(project_id: uuid.UUID):
    """Bring a deleted project back before its data is purged (its owner or a superuser;
    the service answers 404 to anyone else, as the project is hidden)."""
    project = project_deletion.cancel_deletion(current_user, project_id)
    flash(f"Project “{project.name}” is back, as it was before the deletion.", "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.get("/projects/new")
@login_required
def new():
    """The create-project form."""
    return render_template("projects/new.html", form=ProjectForm())


@bp.post("/projects")
@login_required
def create():
    """Create a project owned by the current user."""
    form = ProjectForm()
    if not form.validate_on_submit():
        return render_template("projects/new.html", form=form), 422
    try:
        project = project_service.create_project(
            current_user, form.name.data, form.description.data or ""
        )
    except Invalid as error:
        getattr(form, error.field).errors.append(error.message)
        return render_template("projects/new.html", form=form), 422
    flash(f"Project “{project.name}” created. You are its owner.", "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.get("/projects/<uuid:project_id>")
@login_required
def show(project_id: uuid.UUID):
    """A project's overview: its workflows, how each last went, and where to go next."""
    access = project_access(project_id)
    return render_template(
        "projects/show.html",
        access=access,
        project=access.project,
        workflows=canvas.workflow_summaries(project_id),
        can_edit=access.can(Role.EDITOR),
    )
