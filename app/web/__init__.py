"""HTTP only: blueprints per area, error pages, template helpers."""

from __future__ import annotations

from flask import Flask

from app.web import api, errors, filters
from app.web.auth import views as auth_views
from app.web.health import views as health_views
from app.web.projects import views as project_views
from app.web.webhooks import views as webhook_views


def register_web(app: Flask) -> None:
    """Attach every blueprint, the login manager hooks, error handlers and filters."""
    auth_views.configure_login(app)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(project_views.bp)
    app.register_blueprint(health_views.bp)
    app.register_blueprint(webhook_views.bp)
    app.register_blueprint(api.bp)
    errors.register(app)
    filters.register(app)
