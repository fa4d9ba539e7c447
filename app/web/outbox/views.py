"""The development outbox page (superusers only, and only while MAIL_URL is unset)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from app.services import mail

bp = Blueprint("outbox", __name__)


@bp.get("/outbox")
@login_required
def index():
    """Every recent message, newest first, with its text."""
    # With real mail configured, messages left the building: there is no outbox to show.
    if not current_user.is_superuser or not mail.outbox_enabled():
        abort(404)
    return render_template("outbox/index.html", messages=mail.outbox())
