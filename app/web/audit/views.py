"""Audit log pages: a project's (admins) and the whole instance's (superusers)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__)
