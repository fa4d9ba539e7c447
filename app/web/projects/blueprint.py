"""The projects area's blueprint, shared by its view modules."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("projects", __name__)
