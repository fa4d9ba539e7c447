"""The sign-in area's blueprint, shared by its view modules (password, MFA, SSO, resets)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)
