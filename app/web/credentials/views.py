"""Credential pages: the lists, the schema-driven create and edit forms, the credential's
own page, and deletion. Sharing, transfer and OAuth views live beside this module."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.services.credentials import forms as credential_forms
from app.services.credentials import oauth, sharing
from app.services.credentials import store as credentials
from app.services.errors import Invalid
from app.web.access import project_access
from app.web.credentials.access import credential_access
from app.web.credentials.blueprint import bp
from app.web.credentials.forms import CredentialForm, DeleteForm
from app.web.credentials.pages import form_page, show_page
from app.web.navigation import NavItem

NAV = NavItem("Credentials", "key", "credentials.project_index", 40)


@bp.get("/credentials")
def index():
    """The credentials the user owns and those shared into the user's projects."""
    rows = sharing.list_for_user(current_user)
    return render_template("credentials/index.html", rows=rows)


@bp.get("/projects/<uuid:project_id>/credentials")
def project_index(project_id: uuid.UUID):
    """The credentials shared into a project, with the steps that use each."""
    access = project_access(project_id)
    rows = sharing.list_for_project(project_id)
    return render_template(
        "credentials/project_index.html", access=access, project=access.project, rows=rows
    )


@bp.get("/credentials/new")
def new():
    """Choose what kind of credential to create."""
    return render_template(
        "credentials/new.html",
        types=credential_forms.credential_types(),
        clients=oauth.list_clients(),
        project=None,
    )


@bp.get("/credentials/new/<schema>")
def new_form(schema: str):
    """The form for one credential type."""
    ctype = credential_forms.credential_type(schema)
    values = credential_forms.initial_values(schema)
    return form_page(ctype, CredentialForm(), values=values)


@bp.post("/credentials")
def create():
    """Validate and store a new credential, then show it."""
    schema = request.form.get("schema", "")
    ctype = credential_forms.credential_type(schema)
    form, submitted = CredentialForm(), request.form.to_dict(flat=False)
    if not form.validate_on_submit():
        return form_page(ctype, form, submitted=submitted, status=422)
    try:
        credential = credentials.create_credential(
            current_user, form.name.data, schema, submitted, form.production.data
        )
    except Invalid as error:
        return form_page(ctype, form, submitted=submitted, error=error, status=422)
    flash(f"Credential “{credential.name}” saved. Its secrets will not be shown again.", "success")
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.get("/credentials/<uuid:credential_id>")
def show(credential_id: uuid.UUID):
    """A credential's page: what it is, where it is used, and (for its owner) what to do."""
    return show_page(credential_access(credential_id))


@bp.get("/credentials/<uuid:credential_id>/edit")
def edit(credential_id: uuid.UUID):
    """The edit form: non-secret values filled in, secret fields empty."""
    credential = credential_access(credential_id, owner_only=True)
    values, stored = credentials.stored_values(credential)
    form = CredentialForm(obj=credential)
    return form_page(_type_of(credential), form, credential, values=values, stored=stored)


@bp.post("/credentials/<uuid:credential_id>")
def update(credential_id: uuid.UUID):
    """Save changes; secrets left blank keep their stored value."""
    credential = credential_access(credential_id, owner_only=True)
    form, submitted = CredentialForm(), request.form.to_dict(flat=False)
    _, stored = credentials.stored_values(credential)
    ctype = _type_of(credential)
    if not form.validate_on_submit():
        return form_page(ctype, form, credential, submitted=submitted, stored=stored, status=422)
    try:
        credentials.update_credential(
            current_user, credential.id, form.name.data, form.production.data, submitted
        )
    except Invalid as error:
        return form_page(
            ctype, form, credential, submitted=submitted, stored=stored, error=error, status=422
        )
    flash("Credential saved.", "success")
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.get("/credentials/<uuid:credential_id>/delete")
def confirm_delete(credential_id: uuid.UUID):
    """Ask for the name, and list the steps that will lose the credential."""
    credential = credential_access(credential_id, owner_only=True)
    steps = sharing.steps_using(credential.id)
    return render_template(
        "credentials/delete.html", credential=credential, steps=steps, form=DeleteForm()
    )


@bp.post("/credentials/<uuid:credential_id>/delete")
def delete(credential_id: uuid.UUID):
    """Delete the credential once its name was typed."""
    credential = credential_access(credential_id, owner_only=True)
    form = DeleteForm()
    try:
        if not form.validate_on_submit():
            raise Invalid("confirm_name", "Type the credential's name to confirm.")
        name = credentials.delete_credential(current_user, credential.id, form.confirm_name.data)
    except Invalid as error:
        form.confirm_name.errors = [error.message]
        steps = sharing.steps_using(credential.id)
        return render_template(
            "credentials/delete.html", credential=credential, steps=steps, form=form
        ), 422
    flash(f"Credential “{name}” deleted.", "success")
    return redirect(url_for("credentials.index"))


def _type_of(credential) -> credential_forms.CredentialType:
    if credential.schema == credential_forms.OAUTH:
        return credential_forms.CredentialType(credential.schema, "OAuth", "")
    return credential_forms.credential_type(credential.schema)


# The area's other routes live beside this module; importing them registers them on `bp`.
from app.web.credentials import oauth_views, project_views, sharing_views  # noqa: E402, F401
