"""The run page: steps as a timeline, the selected step's input, output and logs, and
retrying (editors), including "retry now" and "give up" on a run waiting for an automatic
retry. `?step=<step run id>` opens straight to a step, to share."""

from __future__ import annotations

import uuid

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Conflict, Invalid
from app.services.history import run_page as history_runs
from app.services.runs import commands, retries
from app.web.access import project_access
from app.web.history.blueprint import bp
from app.web.htmx import is_fragment_request, vary_on_htmx


@bp.get("/projects/<uuid:project_id>/runs/<uuid:run_id>")
@login_required
def run(project_id: uuid.UUID, run_id: uuid.UUID):
    """The run page; htmx requests (choosing a step, live refresh) get its body only."""
    access = project_access(project_id)
    options = _options()
    page = history_runs.run_page(project_id, run_id, **options)
    template = "runs/_body.html" if is_fragment_request() else "runs/show.html"
    response = make_response(
        render_template(
            template,
            project=access.project,
            can_edit=access.can(Role.EDITOR),
            page=page,
            options=options,
            pretty=history_runs.pretty,
            levels=history_runs.LEVELS,
        )
    )
    return vary_on_htmx(response)


@bp.get("/projects/<uuid:project_id>/runs/<uuid:run_id>/logs")
@login_required
def run_logs(project_id: uuid.UUID, run_id: uuid.UUID):
    """The log lines, filtered by level and text, for the log panel."""
    access = project_access(project_id)
    options = _options()
    logs = history_runs.run_logs(
        project_id,
        run_id,
        step_run_id=None if options["all_logs"] else options["step_run_id"],
        level=options["level"],
        text=options["text"],
    )
    return render_template(
        "runs/_log_lines.html", project=access.project, logs=logs, options=options
    )


@bp.post("/projects/<uuid:project_id>/runs/<uuid:run_id>/retry")
@login_required
def retry(project_id: uuid.UUID, run_id: uuid.UUID):
    """Retry from the start or from a step, on the latest or the original version."""
    project_access(project_id, Role.EDITOR)
    snapshot = request.form.get("snapshot", "latest")
    if snapshot not in ("latest", "original"):
        abort(400)
    step_id = _uuid(request.form.get("step_id"))
    try:
        new_run = commands.retry_run(
            run_id,
            project_id=project_id,
            actor_id=current_user.id,
            step_id=step_id,
            snapshot=snapshot,
        )
    except (Conflict, Invalid) as error:
        flash(error.message, "warning")
        return redirect(url_for("history.run", project_id=project_id, run_id=run_id))
    flash(f"Retry queued as run {str(new_run.id)[:8]}.", "success")
    return redirect(url_for("history.run", project_id=project_id, run_id=new_run.id))


@bp.post("/projects/<uuid:project_id>/runs/<uuid:run_id>/retry-now")
@login_required
def retry_now(project_id: uuid.UUID, run_id: uuid.UUID):
    """Make a waiting run's next automatic attempt due now (409 when it is not waiting)."""
    project_access(project_id, Role.EDITOR)
    retries.retry_now(run_id, project_id=project_id)
    flash("The next attempt starts as soon as a worker is free.", "success")
    return redirect(url_for("history.run", project_id=project_id, run_id=run_id))


@bp.post("/projects/<uuid:project_id>/runs/<uuid:run_id>/give-up")
@login_required
def give_up(project_id: uuid.UUID, run_id: uuid.UUID):
    """Stop a waiting run's automatic retries: it ends failed (409 when it is not waiting)."""
    project_access(project_id, Role.EDITOR)
    retries.give_up(run_id, project_id=project_id, actor=current_user._get_current_object())
    flash("Retries given up: the run ended failed with its last attempt's error.", "success")
    return redirect(url_for("history.run", project_id=project_id, run_id=run_id))


def _options() -> dict:
    """The step, log level and log search chosen in the URL."""
    level = request.args.get("level") or None
    return {
        "step_run_id": _uuid(request.args.get("step")),
        "all_logs": request.args.get("logs") == "all",
        "level": level,
        "text": (request.args.get("log_q") or "").strip()[:200],
    }


def _uuid(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        abort(404)
