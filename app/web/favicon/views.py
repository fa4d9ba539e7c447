"""`GET /favicon.ico`: the SVG icon that base.html links, for browsers (and feed readers,
bookmark tools) that ask for the old address before reading the page."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for

bp = Blueprint("favicon", __name__)


@bp.get("/favicon.ico")
def icon():
    """Send the browser to the SVG icon, so it stops getting a 404."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
