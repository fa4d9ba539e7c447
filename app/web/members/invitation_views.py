"""Accepting an invitation: the page the emailed link opens, for someone without an account."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from app.services import invitations
from app.services.errors import Invalid, NotFound
from app.web.auth.session_start import start_session
from app.web.members.blueprint import bp
from app.web.members.forms import AcceptInvitationForm


@bp.get("/invitations/<token>")
def invitation(token: str):
    """Who invited whom to what, and the form to choose a name and password."""
    found = _pending(token)
    if not isinstance(found, invitations.InvitationSummary):
        return found
    return render_template("members/invitation.html", invitation=found, form=AcceptInvitationForm())


@bp.post("/invitations/<token>")
def accept_invitation(token: str):
    """Make the account, join the project, and sign in."""
    found = _pending(token)
    if not isinstance(found, invitations.InvitationSummary):
        return found
    form = AcceptInvitationForm()
    if not form.validate_on_submit():
        return render_template("members/invitation.html", invitation=found, form=form), 422
    try:
        user = invitations.accept(token, form.name.data or "", form.password.data)
    except Invalid as error:
        if error.field == "token":
            return _gone(error.message, 410)
        getattr(form, error.field, form.password).errors = [error.message]
        return render_template("members/invitation.html", invitation=found, form=form), 422
    start_session(user, method="invitation")
    if found.project_name is None:
        flash("Welcome to Ferry. Your account is ready.", "success")
        return redirect(url_for("projects.index"))
    flash(f"Welcome to “{found.project_name}”. You joined as {found.role}.", "success")
    return redirect(url_for("projects.show", project_id=found.project_id))


def _pending(token: str):
    """The invitation's summary, or the page explaining why the link no longer works."""
    try:
        return invitations.summary(invitations.find_pending(token))
    except NotFound as error:
        return _gone(error.message, 404)
    except Invalid as error:
        return _gone(error.message, 410)


def _gone(message: str, status: int):
    return render_template("members/invitation_gone.html", message=message), status
