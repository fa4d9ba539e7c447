"""The page behind the "turn off these alerts" link in every notification mail.

GET only shows what the link would turn off: mail clients and scanners open links on their
own, and must not change anything. The button POSTs with the page's CSRF token, without
signing in. RFC 8058 one-click unsubscribe (the mail's List-Unsubscribe-Post header) posts
exactly `List-Unsubscribe=One-Click` with no token; that one form is accepted without CSRF,
since the signed token in the URL is what authorises it and it can only turn something off.
"""

from __future__ import annotations

from flask import render_template, request
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from app.extensions import csrf
from app.services.errors import Invalid
from app.services.notifications import unsubscribe as links_service
from app.web.notifications.blueprint import bp
from app.web.notifications.forms import ConfirmForm

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    """What the link turns off, and the button that does it."""
    try:
        target = links_service.describe_unsubscribe(token)
    except Invalid as error:
        return _refused(error.message)
    return _render(target=target, form=ConfirmForm())


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def confirm_unsubscribe(token: str):
    """Turn it off: from the page's button (CSRF token) or a mail client's one-click POST."""
    one_click = request.form.to_dict() == ONE_CLICK
    if not one_click:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            return _refused(
                "The form expired or was not sent from this page. Open the link from the mail "
                "again and press the button.",
                title="Form expired",
            )
    try:
        target = links_service.unsubscribe(token)
    except Invalid as error:
        return _refused(error.message)
    if one_click:
        return "", 204
    return _render(target=target, done=True)


def _render(**context):
    html = render_template("notifications/unsubscribe.html", **context)
    return html, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _refused(message: str, title: str = "This link is not valid"):
    html = render_template("notifications/unsubscribe.html", error=message, title=title)
    return html, 400, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
