"""The project dashboard page."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_login import login_required

from app.models import Role
from app.services.history import dashboard as dashboard_service
from app.web.access import project_access
from app.web.dashboard import chart
from app.web.navigation import NavItem

bp = Blueprint("dashboard", __name__)
NAV = NavItem("Dashboard", "graph-up", "dashboard.show", 5)


@bp.get("/projects/<uuid:project_id>/dashboard")
@login_required
def show(project_id: uuid.UUID):
    """Work orders, runs, success rate, failures and a chart for 24 h, 7 d or 30 d."""
    access = project_access(project_id)
    period = request.args.get("period", "24h")
    if period not in dashboard_service.PERIODS:
        period = "24h"
    figures = dashboard_service.dashboard(project_id, period)
    return render_template(
        "dashboard/show.html",
        project=access.project,
        figures=figures,
        chart=chart.build(figures.buckets, figures.unit),
        colours=chart.STATE_COLOURS,
        periods=dashboard_service.PERIOD_LABELS,
        failed_states=[s.value for s in dashboard_service.FAILED_WORK_ORDER_STATES],
        can_edit=access.can(Role.EDITOR),
    )
