"""Pages rendered by more than one view: a credential's page (by its own view and again, with
errors, by the sharing and transfer forms posted from it) and the create/edit form (from the
credentials area and from inside a project)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app.services.credentials import forms as credential_forms
from app.services.credentials import overview
from app.services.credentials.forms import BodyInvalid
from app.services.errors import Invalid
from app.web.credentials.forms import ShareForm, TransferForm


def show_page(credential, status: int = 200, share_form=None, transfer_form=None):
    """Render a credential's page, with the owner's forms (and their errors, if any)."""
    view = overview.overview(current_user, credential)
    share_form = share_form or ShareForm(formdata=None)
    # No project is picked for the owner: the first of the list is rarely the one they mean.
    share_form.project_id.choices = [("", "Choose a project…")] + [
        (str(p.id), p.name) for p in view.shareable
    ]
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


def form_page(
    ctype,
    form,
    credential=None,
    *,
    values=None,
    submitted=None,
    stored=(),
    error: Invalid | None = None,
    status: int = 200,
    project=None,
):
    """The create or edit form of a credential type, with the errors of a submission; inside
    `project` (a new credential made from its pages) it keeps the project's navigation."""
    errors: dict[str, str] = {}
    if submitted is not None:
        values = credential_forms.echo_values(ctype.name, submitted) if ctype.fields else {}
        if ctype.fields and error is None and credential is None:
            # The name was wrong too: show the body's problems in the same round trip.
            try:
                credential_forms.parse_submission(ctype.name, submitted)
            except BodyInvalid as body_error:
                errors = body_error.errors
    if isinstance(error, BodyInvalid):
        errors = error.errors
    elif error is not None and hasattr(form, error.field):
        getattr(form, error.field).errors = [*getattr(form, error.field).errors, error.message]
    elif error is not None:
        errors = {error.field: error.message}
    return render_template(
        "credentials/form.html",
        ctype=ctype,
        form=form,
        credential=credential,
        values=values or {},
        errors=errors,
        stored=set(stored),
        project=project,
    ), status
