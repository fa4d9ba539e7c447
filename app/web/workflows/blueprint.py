"""The workflows area's blueprint, shared by its view modules."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("workflows", __name__, url_prefix="/projects/<uuid:project_id>/workflows")
