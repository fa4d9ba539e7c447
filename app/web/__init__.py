"""HTTP only: one package per area, error pages, template helpers.

Each area package `app/web/<area>/views.py` exposes a blueprint `bp` (its other route modules
are imported there); an area that appears in a project's sidebar also sets
`NAV = NavItem(...)`, and one that needs app-wide hooks has `configure(app)`. Every area is
listed once, below, by import: a missing module fails at start-up, never silently.
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask

from app.services import mail
from app.web import errors, filters
from app.web.admin import views as admin
from app.web.api import views as api
from app.web.audit import views as audit
from app.web.auth import views as auth
from app.web.collections import views as collections
from app.web.credentials import views as credentials
from app.web.dashboard import views as dashboard
from app.web.data_protection import views as data_protection
from app.web.favicon import views as favicon
from app.web.git_sync import views as git_sync
from app.web.health import views as health
from app.web.history import views as history
from app.web.members import views as members
from app.web.metrics import views as metrics
from app.web.navigation import NavItem
from app.web.notifications import views as notifications
from app.web.outbox import views as outbox
from app.web.profile import views as profile
from app.web.project_settings import views as project_settings
from app.web.projects import views as projects
from app.web.sandboxes import views as sandboxes
from app.web.users import views as users
from app.web.webhooks import views as webhooks
from app.web.workflows import views as workflows

AREAS: tuple[ModuleType, ...] = (
    auth,
    projects,
    health,
    webhooks,
    workflows,
    history,
    credentials,
    dashboard,
    admin,
    outbox,
    api,
    project_settings,
    data_protection,
    git_sync,
    members,
    users,
    profile,
    audit,
    notifications,
    favicon,
    sandboxes,
    collections,
    metrics,
)


def register_web(app: Flask) -> None:
    """Attach every area's blueprint, error handlers, filters and the sidebar."""
    nav: list[NavItem] = []
    for views in AREAS:
        if hasattr(views, "configure"):
            views.configure(app)
        app.register_blueprint(views.bp)
        if getattr(views, "NAV", None) is not None:
            nav.append(views.NAV)
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
