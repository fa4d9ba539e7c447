"""The second sign-in step for users with MFA. (Issue 13 fills this in.)"""

from __future__ import annotations

from flask import redirect, url_for

from app.models import User
from app.web.auth.blueprint import bp  # noqa: F401
from app.web.auth.session_start import start_session


def begin_challenge(user: User, *, remember: bool, next_url: str | None):
    """After a correct password: remember who is signing in and ask for their code."""
    start_session(user, method="password", remember=remember)
    return redirect(next_url or url_for("projects.index"))
