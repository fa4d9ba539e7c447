"""A project's settings: name and description, egress allowlist, MFA requirement, deletion."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("project_settings", __name__)
