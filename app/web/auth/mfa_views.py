"""The second sign-in step for users with MFA: after the password, a TOTP or backup code.

Between the two steps the session holds only who is signing in (not signed in), for five
minutes. Wrong codes count toward the user's limit (app.services.mfa) and the sign-in
limits (throttle.failed_login).
"""

from __future__ import annotations

import time

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user

from app.models import User
from app.services import mfa
from app.services.errors import Invalid
from app.web.auth import throttle
from app.web.auth.blueprint import bp
from app.web.auth.mfa_forms import SignInCodeForm
from app.web.auth.session_start import start_session

PENDING = "mfa_pending"  # session key: {"user_id", "remember", "next", "at"}
PENDING_SECONDS = 5 * 60
WRONG_CODE = "That code is not right, or it was used already. Enter the newest code."
EXPIRED = "Sign-in took too long or was interrupted. Enter your email and password again."


def begin_challenge(user: User, *, remember: bool, next_url: str | None):
    """After a correct password: remember who is signing in and ask for their code."""
    session.clear()  # nothing from before (an older sign-in included) carries over
    session[PENDING] = {
        "user_id": str(user.id),
        "remember": bool(remember),
        "next": next_url,
        "at": time.time(),
    }
    return redirect(url_for("auth.mfa_challenge"))


@bp.get("/login/mfa")
def mfa_challenge():
    """Ask for the code from the authenticator app (or a backup code)."""
    if _pending_user() is None:
        return _start_over()
    return render_template("auth/mfa_challenge.html", form=SignInCodeForm())


@bp.post("/login/mfa")
def mfa_verify():
    """Check the code; on success start the session and go where the user was going."""
    user = _pending_user()
    if user is None:
        return _start_over()
    form = SignInCodeForm()
    if not form.validate_on_submit():
        return render_template("auth/mfa_challenge.html", form=form), 422
    try:
        method = mfa.verify(user, form.code.data)
    except mfa.TooManyAttempts as refused:
        return _page(form, refused.message, 429)
    except Invalid as refused:
        form.code.errors = [refused.message]
        return render_template("auth/mfa_challenge.html", form=form), 422
    if method is None:
        throttle.failed_login(user.email)
        return _page(form, WRONG_CODE, 401)
    pending = session[PENDING]
    start_session(user, method=f"password+{method}", remember=pending["remember"])
    if method == "backup_code":
        left = mfa.remaining_backup_codes(user.id)
        flash(
            f"You signed in with a backup code; {left} left. "
            "Make new ones under Two-factor authentication when you run low.",
            "warning" if left <= 3 else "info",
        )
    return redirect(pending["next"] or url_for("projects.index"))


def _pending_user() -> User | None:
    """The user whose password was right, if that was under five minutes ago."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int | float):
        return None
    if time.time() - pending["at"] > PENDING_SECONDS:
        return None
    return mfa.pending_user(pending.get("user_id", ""))


def _start_over():
    if current_user.is_authenticated:  # signed in already (a second tab, the back button)
        return redirect(url_for("projects.index"))
    session.pop(PENDING, None)
    flash(EXPIRED, "warning")
    return redirect(url_for("auth.login"))


def _page(form: SignInCodeForm, error: str, status: int):
    form.code.data = ""
    return render_template("auth/mfa_challenge.html", form=form, error=error), status
