"""Superuser page "Mail": messages that could not be delivered and why, "Retry now" for each,
and a test email to oneself to check MAIL_URL."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models.base import utcnow
from app.services import mail, undelivered_mail
from app.services.errors import Conflict, Invalid
from app.web.admin.blueprint import bp


@bp.get("/mail")
def mail_page():
    """Undelivered mail, newest first (keyset pages); a malformed page link answers 400."""
    error = None
    try:
        page = undelivered_mail.page(
            cursor=request.args.get("cursor"), limit=request.args.get("limit")
        )
    except Invalid as problem:
        page, error = None, problem
    html = render_template(
        "admin/mail.html",
        page=page,
        error=error,
        query={"limit": request.args["limit"]} if request.args.get("limit") and not error else {},
        mail_configured=not mail.outbox_enabled(),
        max_attempts=mail.MAX_ATTEMPTS,
        stale_minutes=int(undelivered_mail.STALE_AFTER.total_seconds() // 60),
    )
    return html, 400 if error else 200


@bp.post("/mail/<uuid:message_id>/retry")
def retry_mail(message_id: uuid.UUID):
    """Queue one more delivery of an undelivered message now."""
    try:
        message = undelivered_mail.retry_now(current_user.id, message_id)
    except Conflict as problem:
        flash(problem.message, "warning")
    else:
        flash(f"Delivery to {message.to_address} queued again.", "success")
    return redirect(url_for("admin.mail_page"))


@bp.post("/mail/test")
def send_test_mail():
    """Send a test email to the signed-in superuser through the configured MAIL_URL."""
    rendered = mail.render_mail(
        "delivery_test",
        name=current_user.display_name,
        sent_at=utcnow().strftime("%Y-%m-%d %H:%M UTC"),
    )
    mail.send_mail(
        current_user.email,
        rendered.subject or "Ferry test email",
        rendered.text,
        html=rendered.html,
    )
    where = "your inbox" if not mail.outbox_enabled() else "the outbox (MAIL_URL is not set)"
    flash(f"Test email to {current_user.email} queued; look in {where}.", "success")
    return redirect(url_for("admin.mail_page"))
