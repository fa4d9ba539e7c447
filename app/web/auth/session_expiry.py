"""Ending signed-in sessions that sat idle too long (settings.session_idle_minutes) or that
began too long ago (settings.session_max_days), before any view runs.

Both clocks live in the signed session cookie (LOGIN_AT and LAST_SEEN, written by
session_start), so checking them costs no query. LAST_SEEN is rewritten at most once a
minute: rewriting it on every request would send a new cookie with every answer.

Someone who ticked "Keep me signed in on this computer" (their browser sends the remember
cookie) asked not to be signed out for being idle; the absolute lifetime still holds, and
the remember cookie itself expires after the same number of days (REMEMBER_COOKIE_DURATION).
API calls authenticate with bearer tokens and are not affected.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, make_response, redirect, request, session, url_for
from flask_login import logout_user

from app.web import htmx
from app.web.auth.session_start import LAST_SEEN, LOGIN_AT

EXPIRED = "Your session expired; sign in again."
REFRESH_AFTER_S = 60
# Flask-Login's key for the signed-in user's id in the session.
USER_KEY = "_user_id"


def register(app: Flask) -> None:
    """Check every request's session before its view runs."""
    app.before_request(end_expired_session)


def end_expired_session():
    """Sign out a session past its idle or absolute limit; otherwise note it was seen."""
    if USER_KEY not in session or request.blueprint == "api" or request.endpoint == "static":
        return None
    now = time.time()
    login_at, last_seen = _moment(session.get(LOGIN_AT)), _moment(session.get(LAST_SEEN))
    if login_at is None:
        # A session from before these limits existed (or restored from the remember
        # cookie) has no start: it starts now.
        session[LOGIN_AT] = session[LAST_SEEN] = now
        return None
    if _expired(now, login_at, last_seen):
        return _sign_out_here()
    if last_seen is None or now - last_seen >= REFRESH_AFTER_S:
        session[LAST_SEEN] = now
    return None


def _expired(now: float, login_at: float, last_seen: float | None) -> bool:
    settings = current_app.config["FERRY_SETTINGS"]
    if now - login_at > settings.session_max_days * 86400:
        return True
    if _remembered():
        return False
    return now - (last_seen or login_at) > settings.session_idle_minutes * 60


def _remembered() -> bool:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


def _sign_out_here():
    # Clear first: logout_user() leaves the note that makes Flask-Login delete the remember
    # cookie in this response (without it, the cookie would sign the browser in again).
    session.clear()
    logout_user()
    flash(EXPIRED, "warning")
    if request.blueprint == "auth":
        return None  # the sign-in pages carry on, now signed out
    login = url_for("auth.login")
    if htmx.is_htmx_request():
        return htmx.redirect_client(make_response("", 401), login)
    if request.method == "GET":
        login = url_for("auth.login", next=request.full_path.rstrip("?"))
    return redirect(login)


def _moment(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
