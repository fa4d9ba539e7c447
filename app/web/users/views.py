"""Superuser area: every user of the instance."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/admin/users")
