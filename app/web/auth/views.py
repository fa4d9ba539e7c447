"""Sign in with a password and sign out; the other sign-in paths live beside this module."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app.extensions import login_manager
from app.services import accounts, sessions
from app.web import access
from app.web.auth import mfa_views, session_expiry, sso_views, throttle
from app.web.auth.blueprint import bp
from app.web.auth.forms import LoginForm
from app.web.auth.session_start import start_session

# One message for every failure, so the page never reveals whether the email exists.
LOGIN_FAILED = "That email and password do not match an active account."


def configure(app: Flask) -> None:
    """Tell Flask-Login how to load users and where the sign-in page is."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(accounts.load_session_user)
    login_manager.unauthorized_handler(access.unauthorized)
    session_expiry.register(app)


@bp.get("/login")
def login():
    """Show the sign-in form."""
    if current_user.is_authenticated:
        return redirect(url_for("projects.index"))
    return render_template("auth/login.html", form=LoginForm())


@bp.post("/login")
@throttle.login_attempts
def authenticate():
    """Check the credentials; on success start a fresh session (or ask for the MFA code)."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422
    refusal = sso_views.password_refusal(form.email.data)
    if refusal is not None:
        return render_template("auth/login.html", form=form, error=refusal), 403
    user = accounts.authenticate(form.email.data, form.password.data)
    if user is None:
        throttle.failed_login(form.email.data)
        form.password.data = ""
        return render_template("auth/login.html", form=form, error=LOGIN_FAILED), 401
    next_url = _safe_next(request.args.get("next"))
    if user.mfa_enabled:
        return mfa_views.begin_challenge(user, remember=form.remember.data, next_url=next_url)
    start_session(user, method="password", remember=form.remember.data)
    return redirect(next_url or url_for("projects.index"))


@bp.post("/logout")
@login_required
def logout():
    """Sign out: end this user's sessions on the server, then forget them in this browser."""
    sessions.sign_out(current_user.id)
    # Clear first: logout_user() leaves the note that makes Flask-Login delete the remember
    # cookie in this response, and clearing after it would erase that note.
    session.clear()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so the login page cannot redirect elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# The password-reset and sign-up routes register themselves on `bp` when imported.
from app.web.auth import reset_views, signup_views  # noqa: E402, F401
