"""Creating a credential from inside a project: the same forms as the credentials area, drawn
in the project's navigation, shared into the project by default, and back to its list."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models import Role
from app.services.credentials import forms as credential_forms
from app.services.credentials import oauth
from app.services.credentials import store as credentials
from app.services.errors import Invalid
from app.web.access import project_access
from app.web.credentials.blueprint import bp
from app.web.credentials.forms import ProjectCredentialForm
from app.web.credentials.pages import form_page


@bp.get("/projects/<uuid:project_id>/credentials/new")
def project_new(project_id: uuid.UUID):
    """Choose what kind of credential to create for the project."""
    access = project_access(project_id, Role.EDITOR)
    return render_template(
        "credentials/new.html",
        types=credential_forms.credential_types(),
        clients=oauth.list_clients(),
        project=access.project,
    )


@bp.get("/projects/<uuid:project_id>/credentials/new/<schema>")
def project_new_form(project_id: uuid.UUID, schema: str):
    """The form for one credential type, with "share into this project" ticked."""
    access = project_access(project_id, Role.EDITOR)
    ctype = credential_forms.credential_type(schema)
    values = credential_forms.initial_values(schema)
    return form_page(ctype, ProjectCredentialForm(), values=values, project=access.project)


@bp.post("/projects/<uuid:project_id>/credentials")
def project_create(project_id: uuid.UUID):
    """Store the new credential, share it into the project (unless unticked), and go back
    to the project's credentials."""
    access = project_access(project_id, Role.EDITOR)
    project = access.project
    ctype = credential_forms.credential_type(request.form.get("schema", ""))
    form, submitted = ProjectCredentialForm(), request.form.to_dict(flat=False)
    if not form.validate_on_submit():
        return form_page(ctype, form, submitted=submitted, status=422, project=project)
    try:
        credential = credentials.create_credential(
            current_user,
            form.name.data,
            ctype.name,
            submitted,
            form.production.data,
            share_into=project.id if form.share.data else None,
        )
    except Invalid as error:
        return form_page(ctype, form, submitted=submitted, error=error, status=422, project=project)
    where = f" and shared into “{project.name}”" if form.share.data else ""
    flash(
        f"Credential “{credential.name}” saved{where}. Its secrets will not be shown again.",
        "success",
    )
    return redirect(url_for("credentials.project_index", project_id=project.id))
