"""The history page: work orders newest first, filtered and searched, rows that expand into
their runs and steps, and the fragments the live view and "Load more" fetch."""

from __future__ import annotations

import uuid

from flask import make_response, render_template, request
from flask_login import login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.history import bulk as history_bulk
from app.services.history import first_request, listing
from app.services.history.filters import PLACE_LABELS, STATES, HistoryFilter, parse_filter
from app.web.access import ProjectAccess, project_access
from app.web.history.blueprint import bp
from app.web.history.forms import ExportForm
from app.web.htmx import is_fragment_request, is_htmx_request, vary_on_htmx
from app.web.navigation import NavItem
from app.web.workflows.present import webhook_url

NAV = NavItem("History", "clock-history", "history.index", 30)


@bp.get("/projects/<uuid:project_id>/history")
@login_required
def index(project_id: uuid.UUID):
    """The history page, or just its results when the filter form asks through htmx."""
    access = project_access(project_id)
    error = None
    try:
        filters = parse_filter(request.args)
        cursor = request.args.get("cursor") or None
        view = listing.page_view(project_id, filters, cursor=cursor)
    except Invalid as problem:
        # Say what was wrong next to the field and show the first unfiltered page meanwhile:
        # a 422 for browsers and links, a 200 for htmx, which swaps in only 2xx answers.
        error, filters, cursor = problem, HistoryFilter(), None
        view = listing.page_view(project_id, filters)
    context = _context(access, filters, view=view, cursor=cursor, error=error)
    context["export_form"] = ExportForm()
    if not view.page.rows and not cursor and filters.is_empty:
        context["first_hooks"] = _first_hooks(project_id)
    if is_fragment_request():
        template = "history/_results.html"
    else:
        template = "history/index.html"
        can_edit = context["can_edit"]
        context["unfinished_bulk"] = history_bulk.unfinished(project_id) if can_edit else []
    status = 422 if error is not None and not is_htmx_request() else 200
    return vary_on_htmx(make_response(render_template(template, **context), status))


@bp.get("/projects/<uuid:project_id>/history/rows")
@login_required
def rows(project_id: uuid.UUID):
    """The next page of rows, appended by "Load more"."""
    access = project_access(project_id)
    filters = parse_filter(request.args)
    page = listing.list_page(project_id, filters, cursor=request.args.get("cursor"))
    context = _context(access, filters, page=page, cursor=request.args.get("cursor"))
    return render_template("history/_rows.html", **context)


@bp.get("/projects/<uuid:project_id>/history/count")
@login_required
def count(project_id: uuid.UUID):
    """How many work orders match ("more than 1,000" past the cap); loaded after the page."""
    access = project_access(project_id)
    filters = parse_filter(request.args)
    total = listing.count_matching(project_id, filters)
    return render_template("history/_count.html", **_context(access, filters), total=total)


@bp.get("/projects/<uuid:project_id>/history/newer")
@login_required
def newer(project_id: uuid.UUID):
    """Work orders that arrived after the page was drawn (live view and polling)."""
    access = project_access(project_id)
    filters = parse_filter(request.args)
    fresh, more = listing.newer_rows(project_id, filters, request.args.get("mark") or None)
    return render_template(
        "history/_newer.html", **_context(access, filters), fresh=fresh, more=more
    )


@bp.get("/projects/<uuid:project_id>/history/work_orders/<uuid:work_order_id>/row")
@login_required
def row(project_id: uuid.UUID, work_order_id: uuid.UUID):
    """One row, re-read from the database when the live view says it changed."""
    access = project_access(project_id)
    found = listing.get_row(project_id, work_order_id)
    return render_template("history/_row.html", **_context(access, HistoryFilter()), row=found)


@bp.get("/projects/<uuid:project_id>/history/work_orders/<uuid:work_order_id>")
@login_required
def detail(project_id: uuid.UUID, work_order_id: uuid.UUID):
    """A work order's runs and their steps, shown when its row is expanded."""
    access = project_access(project_id)
    found = listing.work_order_detail(project_id, work_order_id)
    return render_template(
        "history/_detail.html", **_context(access, HistoryFilter()), detail=found
    )


def _first_hooks(project_id: uuid.UUID) -> list[dict]:
    """The project's webhooks with their URL and a ready curl line, for the empty history."""
    hooks = []
    for hook in first_request.project_webhooks(project_id):
        url = webhook_url(hook.trigger)
        auth = {"api_key": ' -H "x-api-key: YOUR-KEY"', "basic": " -u USERNAME:PASSWORD"}
        signed = hook.trigger.webhook_signature_algorithm
        # A signed trigger refuses an unsigned request: the line shows where the HMAC goes.
        signature = f' -H "{hook.trigger.webhook_signature_header}: {signed}=HMAC-OF-BODY"'
        curl = (
            f'curl -X POST "{url}"{auth.get(hook.trigger.webhook_auth.value, "")}'
            f"{signature if signed else ''} "
            """-H "Content-Type: application/json" -d '{"hello": "world"}'"""
        )
        hooks.append({"hook": hook, "url": url, "curl": curl})
    return hooks


def _context(
    access: ProjectAccess,
    filters: HistoryFilter,
    *,
    view: listing.PageView | None = None,
    page: listing.HistoryPage | None = None,
    cursor: str | None = None,
    error: Invalid | None = None,
) -> dict:
    return {
        "project": access.project,
        "access": access,
        "can_edit": access.can(Role.EDITOR),
        "filters": filters,
        "filter_args": filters.to_args(),
        "view": view,
        "page": view.page if view else page,
        "cursor": cursor,
        "error": error,
        "states": STATES,
        "place_labels": PLACE_LABELS,
    }


# The other history views register on the same blueprint.
from app.web.history import bulk, dataclips, exports, runs, stream  # noqa: E402, F401
