"""The superuser area's blueprint, shared by its view modules."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

from app.web.access import superuser_only

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _superusers_only() -> None:
    """Every admin page is for superusers; others get 404, as if it did not exist."""
    superuser_only()
