"""The credentials area's blueprint, shared by its view modules."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("credentials", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every credential page needs a signed-in user."""
