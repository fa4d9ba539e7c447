"""The history area's blueprint, shared by its view modules."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("history", __name__)
