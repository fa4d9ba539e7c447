"""The profile area's blueprint, shared by its view modules (tokens, MFA, sessions)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("profile", __name__, url_prefix="/profile")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every profile page needs a signed-in user."""
