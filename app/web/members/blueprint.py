"""The members area's blueprint, shared by its view modules (members pages, invitations)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("members", __name__)
