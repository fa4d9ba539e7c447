"""The notifications area's blueprint, shared by its view modules (settings, unsubscribe)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)
