"""Sending people without MFA to enrol: a project that requires it, and (from the profile area)
superusers when FERRY_SUPERUSER_MFA=required. Pages redirect to the enrolment page and come
back afterwards; htmx, API and form posts get 403 with the reason instead."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for

from app.models import Project, User
from app.services.errors import Forbidden
from app.web.htmx import is_htmx_request

ADVICE = "Turn on two-factor authentication under your profile (user menu) to continue."


def require_project_mfa(project: Project, user: User) -> None:
    """Stop a member (superusers included) without MFA at a project that requires it."""
    if project.require_mfa and not user.mfa_enabled:
        send_to_enrol(f"{project.name} requires two-factor authentication.")


def refuse_api_without_mfa(project: Project, user: User) -> None:
    """The API's form of the same rule: a 403 body, never a redirect."""
    if project.require_mfa and not user.mfa_enabled:
        raise Forbidden(
            f"{project.name} requires two-factor authentication; the token's user has not "
            "turned it on. Turn it on in Ferry's profile pages, then try again."
        )


def send_to_enrol(reason: str):
    """Redirect a page request to enrolment (with a way back); refuse anything else with 403.

    Raises in both cases, so it works from inside a view as well as from a before-request
    hook. Only plain GETs are redirected: an htmx swap or a JSON caller cannot follow a
    redirect to a page, and a form post would lose what was typed.
    """
    if request.method == "GET" and not is_htmx_request() and not _wants_json():
        flash(
            f"{reason} Set it up below; you will then go on to the page you asked for.", "warning"
        )
        abort(redirect(url_for("profile.mfa_enrol", next=_here())))
    raise Forbidden(f"{reason} {ADVICE}")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so ?next= cannot send anyone to another site."""
    if not target or len(target) > 2000:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    return target


def _here() -> str:
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
