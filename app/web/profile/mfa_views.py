"""MFA in the profile: status, enrolment (QR code + confirming code), backup codes shown once,
new backup codes and turning MFA off (both after the password again); and the rule that sends
superusers to enrol first when FERRY_SUPERUSER_MFA=required."""

from __future__ import annotations

import segno
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from app.services import mfa as mfa_service
from app.services.errors import Conflict, Invalid
from app.web import mfa_gate
from app.web.auth.mfa_forms import EnrolCodeForm, PasswordAgainForm
from app.web.auth.session_start import rotate_session
from app.web.profile.blueprint import bp

# Pages a superuser who must enrol can still reach: enrolment itself and signing out.
# Token-authenticated and machine endpoints (API, webhooks, health) do not use the session.
ENROL_ENDPOINTS = frozenset(
    {"profile.mfa", "profile.mfa_enrol", "profile.mfa_confirm", "auth.logout", "static"}
)
NOT_PAGES = frozenset({"api", "webhooks", "health", "security"})


@bp.before_app_request
def _superusers_enrol_first():
    """With FERRY_SUPERUSER_MFA=required, a superuser without MFA enrols before anything else."""
    if not current_app.config["FERRY_SETTINGS"].superuser_mfa_required:
        return None
    if request.endpoint is None or request.endpoint in ENROL_ENDPOINTS:
        return None
    if request.blueprint in NOT_PAGES:
        return None
    if not current_user.is_authenticated or not current_user.is_superuser:
        return None
    if current_user.mfa_enabled:
        return None
    return mfa_gate.send_to_enrol("Superusers on this Ferry must use two-factor authentication.")


@bp.get("/mfa")
def mfa():
    """Whether MFA is on, with the forms to replace backup codes or turn it off."""
    return _status_page()


@bp.get("/mfa/enrol")
def mfa_enrol():
    """The QR code and the secret as text, and the form for the first code.

    A GET that stores a proposed secret: it turns nothing on (only a confirming code does),
    and reloading shows the same secret, so it is safe to repeat.
    """
    if current_user.mfa_enabled:
        flash("Two-factor authentication is already on.", "info")
        return redirect(url_for("profile.mfa"))
    return _enrol_page(EnrolCodeForm())


@bp.post("/mfa/enrol")
def mfa_confirm():
    """Turn MFA on when the code matches; show the backup codes, once."""
    form = EnrolCodeForm()
    if current_user.mfa_enabled:
        flash("Two-factor authentication is already on.", "info")
        return redirect(url_for("profile.mfa"))
    if not form.validate_on_submit():
        return _enrol_page(form, 422)
    try:
        codes = mfa_service.confirm(_me(), form.code.data)
    except Invalid as refused:
        form.code.errors = [refused.message]
        form.code.data = ""
        return _enrol_page(form, 422)
    except Conflict as refused:
        flash(refused.message, "warning")
        return redirect(url_for("profile.mfa_enrol", next=_next_url()))
    rotate_session(_me())  # a privilege change: a session id seen before stays behind
    return _codes_page(codes, enrolled=True)


@bp.post("/mfa/backup-codes")
def mfa_regenerate():
    """Replace every backup code with new ones, after the password; show them, once."""
    form = PasswordAgainForm(prefix="regenerate")
    if not form.validate_on_submit():
        return _status_page(regenerate=form, status=422)
    try:
        codes = mfa_service.regenerate_backup_codes(_me(), form.password.data)
    except Invalid as refused:
        form.password.errors = [refused.message]
        return _status_page(regenerate=form, status=429 if _locked(refused) else 422)
    except Conflict as refused:
        flash(refused.message, "warning")
        return redirect(url_for("profile.mfa"))
    return _codes_page(codes, enrolled=False)


@bp.post("/mfa/disable")
def mfa_disable():
    """Turn MFA off after the password: the secret and the backup codes are erased."""
    form = PasswordAgainForm(prefix="disable")
    if not form.validate_on_submit():
        return _status_page(disable=form, status=422)
    try:
        mfa_service.disable(_me(), form.password.data)
    except Invalid as refused:
        form.password.errors = [refused.message]
        return _status_page(disable=form, status=429 if _locked(refused) else 422)
    except Conflict as refused:
        flash(refused.message, "info")
        return redirect(url_for("profile.mfa"))
    flash("Two-factor authentication is off. Your backup codes no longer work.", "success")
    return redirect(url_for("profile.mfa"))


def _status_page(*, regenerate=None, disable=None, status: int = 200):
    remaining = (
        mfa_service.remaining_backup_codes(current_user.id) if current_user.mfa_enabled else 0
    )
    return render_template(
        "profile/mfa.html",
        remaining=remaining,
        regenerate=regenerate or PasswordAgainForm(prefix="regenerate", formdata=None),
        disable=disable or PasswordAgainForm(prefix="disable", formdata=None),
    ), status


def _enrol_page(form: EnrolCodeForm, status: int = 200):
    enrolment = mfa_service.propose(_me())
    return render_template(
        "profile/mfa_enrol.html",
        form=form,
        qr=_qr_svg(enrolment.uri),
        secret_groups=[enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)],
        next_url=_next_url(),
    ), status


def _codes_page(codes: list[str], *, enrolled: bool):
    response = current_app.make_response(
        render_template(
            "profile/mfa_backup_codes.html",
            codes=codes,
            enrolled=enrolled,
            next_url=_next_url(),
        )
    )
    # Shown once: the browser must not keep a copy to show again from its cache or history.
    response.headers["Cache-Control"] = "no-store"
    return response


def _qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG markup: made here, so the secret never leaves Ferry, and
    without style attributes or scripts, so the content policy has nothing to refuse."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title="QR code for your authenticator app"
    )
    # segno's own markup; the URI is encoded in it, not embedded as text.
    return Markup(svg)  # noqa: S704  # nosec B704


def _next_url() -> str | None:
    """Where to go after enrolling: a same-site path from ?next= (or the form), else None."""
    return mfa_gate.safe_next(request.values.get("next"))


def _locked(refused: Invalid) -> bool:
    return isinstance(refused, mfa_service.TooManyAttempts)


def _me():
    """The signed-in User itself: Flask-Login's proxy stored as the user (login_user in
    rotate_session) would resolve to itself forever, and SQLAlchemy wants the real object."""
    return current_user._get_current_object()
