"""The development outbox page (superusers only, and only while MAIL_URL is unset)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required

from app.services import mail
from app.web.access import superuser_only

bp = Blueprint("outbox", __name__)


@bp.get("/outbox")
@login_required
def index():
    """Every recent message, newest first, with its text."""
    superuser_only()
    # With real mail configured, messages left the building: there is no outbox to show.
    if not mail.outbox_enabled():
        abort(404)
    return render_template("outbox/index.html", messages=mail.outbox())
