"""Starting a signed-in session: the one place every sign-in path (password, SSO, MFA,
invitation, password reset) ends, so session rotation and auditing happen exactly once."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import login_user

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services import audit

# Keys in the Flask session that sign-in uses; `start_session` clears everything else.
LOGIN_AT = "login_at"  # when the session began (absolute lifetime)
LAST_SEEN = "last_seen"  # when the session last made a request (idle timeout)


def start_session(user: User, *, method: str, remember: bool = False) -> None:
    """Sign `user` in on a fresh session and write the audit entry.

    The old session is cleared first: nothing from before sign-in carries over (session
    fixation), which also rotates the session on every privilege change that signs in again.
    `method` names how they proved who they are ("password", "sso:<provider>", "mfa", ...).
    """
    session.clear()
    login_user(user, remember=remember)
    now = utcnow().timestamp()
    session[LOGIN_AT] = now
    session[LAST_SEEN] = now
    user.last_login_at = utcnow()
    audit.record("user", user.id, "signed_in", user.id, {"method": method})
    db.session.commit()


def rotate_session(user: User) -> None:
    """Give the signed-in `user` a fresh session after their privileges changed (MFA turned
    on, password changed, made superuser): a session id captured before cannot ride along.
    Keeps when the session began, so the absolute lifetime still counts from sign-in."""
    login_at = session.get(LOGIN_AT, utcnow().timestamp())
    # A browser that was kept signed in gets a new remember cookie too: after signing out
    # everywhere (a password change) the old one carries a nonce that no longer works.
    cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    remember = cookie in request.cookies or session.get("_remember") == "set"
    session.clear()
    login_user(user, remember=remember)
    session[LOGIN_AT] = login_at
    session[LAST_SEEN] = utcnow().timestamp()
