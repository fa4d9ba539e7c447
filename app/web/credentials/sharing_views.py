"""Sharing a credential into projects, unsharing it, and handing it to another user."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.services.credentials import sharing as credential_sharing
from app.services.credentials import transfers as credential_transfers
from app.services.errors import Invalid, NotFound
from app.web.credentials.access import credential_access
from app.web.credentials.blueprint import bp
from app.web.credentials.forms import ShareForm, TransferForm
from app.web.credentials.pages import show_page


@bp.post("/credentials/<uuid:credential_id>/shares")
def share(credential_id: uuid.UUID):
    """Share the credential into one of the owner's projects."""
    credential = credential_access(credential_id, owner_only=True)
    form = ShareForm()
    try:
        project_id = uuid.UUID(form.project_id.data or "")
        project = credential_sharing.share(current_user, credential.id, project_id)
    except ValueError:
        form.project_id.errors = ["Choose a project."]
        return show_page(credential, 422, share_form=form)
    except Invalid as error:
        form.project_id.errors = [error.message]
        return show_page(credential, 422, share_form=form)
    flash(f"Shared into “{project.name}”: its editors can now use it in steps.", "success")
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.get("/credentials/<uuid:credential_id>/shares/<uuid:project_id>/delete")
def confirm_unshare(credential_id: uuid.UUID, project_id: uuid.UUID):
    """Say which of the project's steps will lose the credential, and ask to confirm."""
    credential = credential_access(credential_id, owner_only=True)
    project = next(
        (p for p in credential_sharing.shared_projects(credential.id) if p.id == project_id),
        None,
    )
    if project is None:
        raise NotFound("The credential is not shared into that project.")
    steps = credential_sharing.steps_using(credential.id, [project_id])
    return render_template(
        "credentials/unshare.html", credential=credential, project=project, steps=steps
    )


@bp.post("/credentials/<uuid:credential_id>/shares/<uuid:project_id>/delete")
def unshare(credential_id: uuid.UUID, project_id: uuid.UUID):
    """Stop sharing the credential into the project."""
    credential = credential_access(credential_id, owner_only=True)
    project = credential_sharing.unshare(current_user, credential.id, project_id)
    flash(f"No longer shared into “{project.name}”.", "success")
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.post("/credentials/<uuid:credential_id>/transfer")
def request_transfer(credential_id: uuid.UUID):
    """Email the recipient a link to accept the credential."""
    credential = credential_access(credential_id, owner_only=True)
    form = TransferForm()
    if not form.validate_on_submit():
        return show_page(credential, 422, transfer_form=form)
    try:
        credential_transfers.request_transfer(current_user, credential.id, form.email.data)
    except Invalid as error:
        form.email.errors = [error.message]
        return show_page(credential, 422, transfer_form=form)
    flash(
        f"We emailed {form.email.data} a link to accept the credential. "
        "You stay its owner until they do.",
        "success",
    )
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.post("/credentials/<uuid:credential_id>/transfer/cancel")
def cancel_transfer(credential_id: uuid.UUID):
    """Withdraw the open transfer."""
    credential = credential_access(credential_id, owner_only=True)
    credential_transfers.cancel_transfer(current_user, credential.id)
    flash("Transfer withdrawn: the link no longer works.", "info")
    return redirect(url_for("credentials.show", credential_id=credential.id))


@bp.get("/credentials/transfers/<token>")
def transfer(token: str):
    """The recipient's confirmation page (404 for anyone else, or a used/expired link)."""
    transfer_, credential = credential_transfers.transfer_for_token(current_user, token)
    view = credential_transfers.describe(transfer_, credential)
    return render_template("credentials/transfer.html", token=token, view=view)


@bp.post("/credentials/transfers/<token>")
def accept_transfer(token: str):
    """Accept: the recipient becomes the owner."""
    try:
        credential = credential_transfers.accept_transfer(current_user, token)
    except Invalid as error:
        flash(error.message, "error")
        return redirect(url_for("credentials.transfer", token=token))
    flash(f"You now own “{credential.name}”.", "success")
    return redirect(url_for("credentials.show", credential_id=credential.id))
