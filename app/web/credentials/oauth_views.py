"""OAuth credentials: name it, go through the provider's consent screen, come back."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.services.credentials import oauth
from app.services.errors import Invalid
from app.web.credentials.access import credential_access
from app.web.credentials.blueprint import bp
from app.web.credentials.forms import CredentialForm

# The session key holding the authorisation in progress (state and PKCE verifier).
PENDING = "oauth_pending"


@bp.get("/credentials/new/oauth/<uuid:client_id>")
def new_oauth(client_id: uuid.UUID):
    """Name the credential before going to the provider."""
    client = oauth.get_client(client_id)
    return render_template("credentials/oauth_new.html", client=client, form=CredentialForm())


@bp.post("/credentials/oauth/<uuid:client_id>/authorize")
def authorize(client_id: uuid.UUID):
    """Remember the attempt, then send the browser to the provider."""
    client = oauth.get_client(client_id)
    form = CredentialForm()
    if not form.validate_on_submit():
        return render_template("credentials/oauth_new.html", client=client, form=form), 422
    try:
        url, pending = oauth.start_authorization(
            current_user, client.id, form.name.data, form.production.data
        )
    except Invalid as error:
        form.name.errors = [error.message]
        return render_template("credentials/oauth_new.html", client=client, form=form), 422
    session[PENDING] = pending.as_dict()
    return redirect(url)


@bp.post("/credentials/<uuid:credential_id>/reauthorize")
def reauthorize(credential_id: uuid.UUID):
    """Go through the provider again to replace the credential's tokens."""
    credential = credential_access(credential_id, owner_only=True)
    url, pending = oauth.start_authorization(
        current_user, credential.oauth_client_id, credential.name, credential.production, credential
    )
    session[PENDING] = pending.as_dict()
    return redirect(url)


@bp.get("/credentials/oauth/callback")
def oauth_callback():
    """The provider sends the browser back here with a code (or an error)."""
    pending = session.pop(PENDING, None)
    try:
        credential = oauth.complete_authorization(
            current_user,
            pending,
            request.args.get("state"),
            request.args.get("code"),
            request.args.get("error"),
        )
    except Invalid as error:
        flash(error.message, "error")
        return redirect(url_for("credentials.new"))
    flash(f"Credential “{credential.name}” authorised. Its tokens will not be shown.", "success")
    return redirect(url_for("credentials.show", credential_id=credential.id))
