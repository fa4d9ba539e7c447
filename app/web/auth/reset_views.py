"""Forgotten passwords: ask for a reset link by email, then choose a new password through it."""

from __future__ import annotations

import logging
import math

from flask import flash, redirect, render_template, url_for
from limits import RateLimitItemPerMinute

from app.services import password_resets, rate_limits
from app.services.errors import Invalid, NotFound
from app.web.auth import throttle
from app.web.auth.blueprint import bp
from app.web.auth.password_forms import ForgotPasswordForm, NewPasswordForm
from app.web.auth.session_start import start_session

log = logging.getLogger("ferry.limits")
# Requests for reset links one network address may make per window, whatever the outcome
# (counting only mails sent would tell a prober which addresses have accounts). The service
# also caps the mails one account receives.
REQUESTS_PER_ADDRESS = 20
WINDOW_MINUTES = 15


@bp.get("/password/forgot")
def forgot_password():
    """The form asking for the email address to send a reset link to."""
    return render_template("auth/forgot_password.html", form=ForgotPasswordForm())


@bp.post("/password/forgot")
def send_reset_link():
    """Mail a link when the account exists; the answer is the same when it does not."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form), 422
    wait_s = _address_must_wait()
    if wait_s is not None:
        minutes = max(1, math.ceil(wait_s / 60))
        error = (
            "Too many reset requests from your network address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
        html = render_template("auth/forgot_password.html", form=form, error=error)
        return html, 429, {"Retry-After": str(max(1, math.ceil(wait_s)))}
    password_resets.request_reset(form.email.data)
    return render_template("auth/reset_sent.html", email=form.email.data.strip())


@bp.get("/password/reset/<token>")
def reset_password_form(token: str):
    """The form for a new password, when the link is still good."""
    refusal = _refusal(token)
    if refusal is not None:
        return refusal
    return render_template("auth/reset_password.html", form=NewPasswordForm(), token=token)


@bp.post("/password/reset/<token>")
def reset_password(token: str):
    """Set the new password, end every other session, and sign in afresh (unless MFA)."""
    refusal = _refusal(token)
    if refusal is not None:
        return refusal
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _form_again(form, token)
    try:
        user = password_resets.reset_password(token, form.password.data)
    except Invalid as error:
        if error.field != "password":
            return _refused(error.message, 410)
        form.password.errors = [error.message]
        return _form_again(form, token)
    if user.mfa_enabled:
        # A mailed link proves the mailbox, not the second factor: sign in with both.
        flash("Password changed; sign in with it and your authenticator code.", "success")
        return redirect(url_for("auth.login"))
    start_session(user, method="password_reset")
    flash("Password changed. You were signed out on every other device.", "success")
    return redirect(url_for("projects.index"))


def _address_must_wait() -> int | None:
    """Seconds until this address may ask again, or None; counts this request. Fails open
    like the sign-in limits (the per-account mail cap still holds)."""
    item = RateLimitItemPerMinute(REQUESTS_PER_ADDRESS, WINDOW_MINUTES)
    key = ("ferry-password-reset", "address:" + throttle.client_address())
    return rate_limits.seconds_to_wait(item, key, "Reset request limit")


def _refusal(token: str):
    try:
        password_resets.find_valid(token)
    except NotFound as error:
        return _refused(error.message, 404)
    except Invalid as error:
        return _refused(error.message, 410)
    return None


def _refused(message: str, status: int):
    return render_template("auth/reset_invalid.html", message=message), status


def _form_again(form: NewPasswordForm, token: str):
    # Secrets are never sent back into the page.
    form.password.data = form.confirm.data = ""
    return render_template("auth/reset_password.html", form=form, token=token), 422
