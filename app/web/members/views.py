"""A project's members: adding by email (invitations), roles, removal, ownership."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("members", __name__)
