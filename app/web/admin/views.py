"""Superuser pages: the OAuth clients people authorise credentials through. SSO providers
live beside this module."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.services.credentials import oauth
from app.services.errors import Conflict, Invalid
from app.web.admin.blueprint import bp
from app.web.admin.forms import OAuthClientForm


@bp.get("/oauth-clients")
def oauth_clients():
    """The configured OAuth clients and the callback address to register with providers."""
    return render_template(
        "admin/oauth_clients.html", clients=oauth.list_clients(), callback=oauth.redirect_uri()
    )


@bp.get("/oauth-clients/new")
def new_oauth_client():
    """The form for a new OAuth client."""
    return _form(OAuthClientForm(), None)


@bp.post("/oauth-clients")
def create_oauth_client():
    """Save a new OAuth client."""
    return _save(None)


@bp.get("/oauth-clients/<uuid:client_id>/edit")
def edit_oauth_client(client_id: uuid.UUID):
    """The form for an OAuth client; the secret field stays empty."""
    client = oauth.get_client(client_id)
    return _form(OAuthClientForm(obj=client, client_secret=""), client)


@bp.post("/oauth-clients/<uuid:client_id>")
def update_oauth_client(client_id: uuid.UUID):
    """Save changes to an OAuth client."""
    return _save(oauth.get_client(client_id).id)


@bp.post("/oauth-clients/<uuid:client_id>/delete")
def delete_oauth_client(client_id: uuid.UUID):
    """Delete an OAuth client that no credential uses."""
    oauth.get_client(client_id)
    try:
        name = oauth.delete_client(current_user, client_id)
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("admin.oauth_clients"))
    flash(f"OAuth client “{name}” deleted.", "success")
    return redirect(url_for("admin.oauth_clients"))


def _save(client_id: uuid.UUID | None):
    form = OAuthClientForm()
    client = oauth.get_client(client_id) if client_id else None
    if not form.validate_on_submit():
        return _form(form, client, 422)
    fields = {name: (form[name].data or "") for name in form.data if name != "csrf_token"}
    try:
        saved = oauth.save_client(current_user, client_id, fields)
    except Invalid as error:
        form[error.field].errors = [error.message] if error.field in form else []
        return _form(form, client, 422)
    flash(f"OAuth client “{saved.name}” saved.", "success")
    return redirect(url_for("admin.oauth_clients"))


def _form(form, client, status: int = 200):
    return render_template(
        "admin/oauth_client_form.html", form=form, client=client, callback=oauth.redirect_uri()
    ), status


# The SSO provider and mail pages register themselves on `bp` when imported.
from app.web.admin import mail_views, sso_views  # noqa: E402, F401
