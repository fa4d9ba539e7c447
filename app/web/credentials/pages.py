"""A credential's page, rendered by its own view and again (with errors) by the sharing and
transfer forms posted from it."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app.services.credentials import overview
from app.web.credentials.forms import ShareForm, TransferForm


def show_page(credential, status: int = 200, share_form=None, transfer_form=None):
    """Render a credential's page, with the owner's forms (and their errors, if any)."""
    view = overview.overview(current_user, credential)
    share_form = share_form or ShareForm(formdata=None)
    share_form.project_id.choices = [(str(p.id), p.name) for p in view.shareable]
    return (
        render_template(
            "credentials/show.html",
            view=view,
            credential=credential,
            share_form=share_form,
            transfer_form=transfer_form or TransferForm(formdata=None),
        ),
        status,
    )
