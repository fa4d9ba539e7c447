"""The signed-in user's own profile: their account, changing the password, personal API
tokens, and signing out everywhere. MFA pages live beside this module."""

from __future__ import annotations

import uuid

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.services import api_tokens, sessions
from app.services.errors import Invalid
from app.services.notifications import preferences
from app.web.auth.session_start import rotate_session

# The MFA pages register themselves on `bp` when imported.
from app.web.profile import mfa_views  # noqa: F401
from app.web.profile.blueprint import bp
from app.web.profile.forms import ConfirmForm, PasswordForm, TokenForm


@bp.get("")
def index():
    """The profile page."""
    return _page()


@bp.post("/password")
def change_password():
    """Check the current password, store the new one, end every other session."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _page(password_form=form, status=422)
    try:
        user = sessions.change_password(
            current_user.id, form.current_password.data, form.new_password.data
        )
    except Invalid as error:
        field = form.new_password if error.field == "password" else None
        _show_error(form, error, field)
        return _page(password_form=form, status=422)
    rotate_session(user)  # this browser stays signed in, on a fresh session
    flash("Password changed. Your other sessions have been signed out.", "success")
    return redirect(url_for("profile.index"))


@bp.post("/tokens")
def create_token():
    """Create a token and show it, once, on the page this answers with."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(token_form=form, status=422)
    try:
        row, token = api_tokens.create_token(
            current_user.id, form.name.data, form.expires_on.data or None
        )
    except Invalid as error:
        _show_error(form, error)
        return _page(token_form=form, status=422)
    # Rendered here rather than after a redirect: the token is kept nowhere to show later.
    response = render_template(
        "profile/token_created.html", row=row, token=token, last_day=api_tokens.last_day(row)
    )
    return response, 201, {"Cache-Control": "no-store"}


@bp.post("/tokens/<uuid:token_id>/revoke")
def revoke_token(token_id: uuid.UUID):
    """Revoke one of the user's tokens (someone else's answers 404)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(status=400)
    row = api_tokens.revoke_token(current_user.id, token_id)
    flash(f"Token “{row.name}” revoked: it no longer works.", "success")
    return redirect(url_for("profile.index") + "#tokens")


@bp.post("/time-zone")
def change_time_zone():
    """Store the user's time zone (alert times and digest hours are in it) and clock."""
    chosen = request.form.get("time_format")
    try:
        user = preferences.set_time_zone(current_user.id, request.form.get("time_zone"), chosen)
    except Invalid as error:
        if error.field == "time_format":
            g.time_format_error = error.message
        else:
            g.time_zone_error = error.message
            g.time_zone_typed = (request.form.get("time_zone") or "")[:64].replace("\x00", "")
        g.time_format_typed = chosen if chosen in preferences.TIME_FORMATS else None
        return _page(status=422)
    clock = "a 24-hour clock" if user.time_format == "24h" else "a 12-hour clock"
    flash(f"Time zone set to {user.time_zone}. Times are written on {clock}.", "success")
    return redirect(url_for("profile.index") + "#time-zone")


@bp.post("/sign-out-everywhere")
def sign_out_everywhere():
    """End every session of the user; this browser carries on with a fresh one."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(status=400)
    sessions.sign_out_everywhere(current_user.id)
    rotate_session(current_user._get_current_object())
    flash("Signed out everywhere else. This browser stays signed in.", "success")
    return redirect(url_for("profile.index"))


def _page(*, password_form=None, token_form=None, status: int = 200):
    return (
        render_template(
            "profile/index.html",
            password_form=password_form or PasswordForm(formdata=None),
            token_form=token_form or TokenForm(formdata=None),
            confirm_form=ConfirmForm(formdata=None),
            tokens=api_tokens.list_tokens(current_user.id),
            is_expired=api_tokens.is_expired,
            last_day=api_tokens.last_day,
        ),
        status,
    )


def _show_error(form, error: Invalid, field=None) -> None:
    target = field or getattr(form, error.field or "", None)
    if target is None or not hasattr(target, "errors"):
        flash(error.message, "danger")
        return
    target.errors = [*target.errors, error.message]
