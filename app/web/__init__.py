"""HTTP only: one package per area, error pages, template helpers.

Each area package `app/web/<area>/views.py` exposes a blueprint `bp`; an area that appears
in a project's sidebar also sets `NAV = NavItem(...)`. Areas are listed here once.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec

from flask import Flask

from app.services import mail
from app.web import api, errors, filters
from app.web.navigation import NavItem

AREAS = (
    "auth",
    "projects",
    "health",
    "webhooks",
    "workflows",
    "history",
    "credentials",
    "dashboard",
    "settings",
    "admin",
    "outbox",
)


def register_web(app: Flask) -> None:
    """Attach every area's blueprint, the API, error handlers, filters and the sidebar."""
    nav: list[NavItem] = []
    for area in AREAS:
        if find_spec(f"app.web.{area}") is None or find_spec(f"app.web.{area}.views") is None:
            continue  # an area not built yet
        views = importlib.import_module(f"app.web.{area}.views")
        if hasattr(views, "configure"):
            views.configure(app)
        app.register_blueprint(views.bp)
        if getattr(views, "NAV", None) is not None:
            nav.append(views.NAV)
    app.register_blueprint(api.bp)
    errors.register(app)
    filters.register(app)
    app.extensions["ferry_project_nav"] = sorted(nav, key=lambda item: item.order)
    app.context_processor(
        lambda: {
            "project_nav": app.extensions["ferry_project_nav"],
            # A function, so the user menu asks only when it shows superuser entries.
            "outbox_enabled": mail.outbox_enabled,
        }
    )
