"""Superuser pages for single sign-on providers: list, add, edit (the secret stays write-only)
and delete after typing the provider's name."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.services.errors import Invalid
from app.services.sso import providers
from app.web.admin.blueprint import bp
from app.web.admin.sso_forms import DeleteSsoProviderForm, SsoProviderForm

FIELDS = ("name", "discovery_url", "client_id", "client_secret", "allowed_domains")


@bp.get("/sso-providers")
def sso_providers():
    """The configured providers with the redirect address to register at each."""
    rows = [
        (provider, providers.callback_url(provider.slug), providers.linked_count(provider.id))
        for provider in providers.list_providers()
    ]
    return render_template("admin/sso_providers.html", rows=rows)


@bp.get("/sso-providers/new")
def new_sso_provider():
    """The form for a new provider."""
    return _form(SsoProviderForm(), None)


@bp.post("/sso-providers")
def create_sso_provider():
    """Save a new provider."""
    return _save(None)


@bp.get("/sso-providers/<uuid:provider_id>/edit")
def edit_sso_provider(provider_id: uuid.UUID):
    """The form for a provider; the secret field stays empty."""
    provider = providers.get_provider(provider_id)
    # Field by field: WTForms prefers an `obj` attribute to a keyword, and the domains are
    # a list in the row but lines in the form.
    form = SsoProviderForm(
        name=provider.name,
        discovery_url=provider.discovery_url,
        client_id=provider.client_id,
        allowed_domains="\n".join(provider.allowed_domains),
        sso_only=provider.sso_only,
        enabled=provider.enabled,
    )
    return _form(form, provider)


@bp.post("/sso-providers/<uuid:provider_id>")
def update_sso_provider(provider_id: uuid.UUID):
    """Save changes to a provider."""
    return _save(providers.get_provider(provider_id).id)


@bp.get("/sso-providers/<uuid:provider_id>/delete")
def confirm_delete_sso_provider(provider_id: uuid.UUID):
    """Ask to type the provider's name, saying who signs in with it."""
    return _confirm(DeleteSsoProviderForm(), providers.get_provider(provider_id))


@bp.post("/sso-providers/<uuid:provider_id>/delete")
def delete_sso_provider(provider_id: uuid.UUID):
    """Delete a provider once its name was typed."""
    provider = providers.get_provider(provider_id)
    form = DeleteSsoProviderForm()
    if not form.validate_on_submit():
        return _confirm(form, provider, 422)
    try:
        name = providers.delete(current_user, provider.id, form.confirm_name.data)
    except Invalid as error:
        form.confirm_name.errors = [error.message]
        return _confirm(form, provider, 422)
    flash(f"SSO provider “{name}” deleted.", "success")
    return redirect(url_for("admin.sso_providers"))


def _save(provider_id: uuid.UUID | None):
    form = SsoProviderForm()
    provider = providers.get_provider(provider_id) if provider_id else None
    if not form.validate_on_submit():
        return _form(form, provider, 422)
    fields = {name: form[name].data or "" for name in FIELDS}
    fields |= {"sso_only": form.sso_only.data, "enabled": form.enabled.data}
    try:
        saved = providers.save(current_user, provider_id, fields)
    except Invalid as error:
        if error.field in form:
            form[error.field].errors = [error.message]
        return _form(form, provider, 422)
    flash(
        f"SSO provider “{saved.name}” saved. Register this redirect address at the provider: "
        f"{providers.callback_url(saved.slug)}",
        "success",
    )
    return redirect(url_for("admin.sso_providers"))


def _form(form: SsoProviderForm, provider, status: int = 200):
    callback = providers.callback_url(provider.slug if provider else "<name>")
    return render_template(
        "admin/sso_provider_form.html", form=form, provider=provider, callback=callback
    ), status


def _confirm(form: DeleteSsoProviderForm, provider, status: int = 200):
    return render_template(
        "admin/sso_provider_delete.html",
        form=form,
        provider=provider,
        linked=providers.linked_count(provider.id),
    ), status
