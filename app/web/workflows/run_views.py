"""Running from the builder: start a run, its live status, a step's input/output/logs, and
the inputs to choose from (saved test inputs, recent runs' inputs). Every answer is a
fragment of the run panel (templates/workflows/_run_*.html) that htmx swaps in."""

from __future__ import annotations

import hashlib
import json
import uuid

from flask import Response, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.studio import run_panel
from app.web import htmx
from app.web.access import project_access
from app.web.workflows.blueprint import bp

TABS = ("input", "output", "logs")
# Where a message about each field of the run form is shown (the id of its slot).
RUN_ERROR_SLOTS = {"input": "run-input-error", "dataclip_id": "run-dataclip-error"}


def _uuid_or_none(value: str | None, field: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(field, f"{field} is not an id.") from None


def _ids(project_id: uuid.UUID, workflow_id: uuid.UUID) -> dict:
    return {"project_id": project_id, "workflow_id": workflow_id}


def _signature(progress: dict) -> str:
    """A short fingerprint of what the status fragment shows, so an unchanged run is not
    redrawn (and re-announced to screen readers) every second."""
    text = json.dumps(progress, sort_keys=True, default=str)
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


@bp.post("/<uuid:workflow_id>/runs")
@login_required
def start_run(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Start a manual run from the builder with the chosen input, whole or from a step; answer
    with its status, or 422 with the message under the field to fix."""
    project_access(project_id, Role.EDITOR)
    try:
        from_step = request.form.get("start") == "step"
        run = run_panel.start_run(
            workflow_id,
            project_id,
            current_user.id,
            source=request.form.get("source", "empty"),
            custom_text=request.form.get("custom"),
            dataclip_id=_uuid_or_none(request.form.get("dataclip_id"), "dataclip_id"),
            step_id=_uuid_or_none(request.form.get("step_id"), "step_id") if from_step else None,
        )
    except Invalid as error:
        slot = RUN_ERROR_SLOTS.get(error.field or "", "run-start-error")
        html = render_template("workflows/_run_message.html", slot=slot, message=error.message)
        return htmx.retarget(make_response(html, 422), f"#{slot}")
    progress = run_panel.progress(run.id, project_id)
    html = render_template(
        "workflows/_run_started.html",
        progress=progress,
        signature=_signature(progress),
        run_id=run.id,
        ids=_ids(project_id, workflow_id),
    )
    return make_response(html, 201)


@bp.get("/<uuid:workflow_id>/runs/<uuid:run_id>/status")
@login_required
def run_status(project_id: uuid.UUID, workflow_id: uuid.UUID, run_id: uuid.UUID):
    """The run's state and its steps' states, re-read by the run panel until the run is final
    (204 while nothing changed since `seen`); opened on its own, the run's page in History."""
    project_access(project_id).run(run_id, workflow_id)
    if not htmx.is_fragment_request():
        target = url_for("history.run", project_id=project_id, run_id=run_id)
        return htmx.vary_on_htmx(redirect(target))
    progress = run_panel.progress(run_id, project_id)
    signature = _signature(progress)
    if request.args.get("seen") == signature:
        return htmx.vary_on_htmx(Response(status=204))
    html = render_template(
        "workflows/_run_status.html",
        progress=progress,
        signature=signature,
        ids=_ids(project_id, workflow_id),
    )
    response = htmx.vary_on_htmx(make_response(html))
    if progress["final"]:
        kind = "success" if progress["state"] == "success" else "danger"
        htmx.toast(response, f"The run finished: {progress['state']}.", kind)
        htmx.trigger(response, "ferry:run-finished")
    return response


@bp.get("/<uuid:workflow_id>/runs/<uuid:run_id>/step")
@login_required
def step_tab(project_id: uuid.UUID, workflow_id: uuid.UUID, run_id: uuid.UUID):
    """One tab (input, output or logs) of the selected step in the run."""
    project_access(project_id).run(run_id, workflow_id)
    tab = request.args.get("tab", "output")
    if tab not in TABS:
        raise Invalid("tab", "Choose input, output or logs.")
    level = request.args.get("level") or None
    step_id = _uuid_or_none(request.args.get("step_id"), "step_id")
    detail = run_panel.step_detail(run_id, project_id, step_id, level) if step_id else None
    body = None
    if detail is not None and tab != "logs":
        body = detail.input_body if tab == "input" else detail.output_body
    html = render_template(
        "workflows/_step_tab.html",
        tab=tab,
        detail=detail,
        body=body,
        level=level or "debug",
        step_chosen=step_id is not None,
    )
    return htmx.vary_on_htmx(Response(html))


@bp.get("/<uuid:workflow_id>/inputs")
@login_required
def inputs(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The stored inputs the run panel offers, with a preview of the chosen one."""
    project_access(project_id).workflow(workflow_id)
    chosen = _uuid_or_none(request.args.get("dataclip_id"), "dataclip_id")
    return _choices(project_id, workflow_id, "workflows/_input_choices.html", chosen)


@bp.post("/<uuid:workflow_id>/inputs")
@login_required
def save_input(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Keep the current input as a named test case; answers with the refreshed choices, or 422
    with the message under the name."""
    project_access(project_id, Role.EDITOR).workflow(workflow_id)
    source = request.form.get("source")
    try:
        clip = run_panel.save_input(
            project_id,
            request.form.get("name", ""),
            custom_text=request.form.get("custom") if source == "custom" else None,
            dataclip_id=_uuid_or_none(request.form.get("dataclip_id"), "dataclip_id")
            if source == "stored"
            else None,
        )
    except Invalid as error:
        html = render_template(
            "workflows/_save_input.html",
            ids=_ids(project_id, workflow_id),
            name=request.form.get("name", ""),
            message=error.message,
            error=True,
        )
        return htmx.retarget(make_response(html, 422), "#save-input")
    return _choices(
        project_id, workflow_id, "workflows/_input_saved.html", clip.id, saved_name=clip.name
    )


def _choices(project_id, workflow_id, template: str, chosen: uuid.UUID | None, **extra):
    choices = run_panel.input_choices(workflow_id, project_id)
    if chosen is None:
        first = next(iter(choices["saved"] + choices["recent"]), None)
        chosen = first.dataclip_id if first else None
    preview = None
    if chosen is not None:
        try:
            preview = run_panel.shown_input(project_id, chosen)
        except Invalid as error:
            preview = error.message  # a wiped input says so where its body would be
    html = render_template(
        template,
        choices=choices,
        selected=chosen,
        preview=preview,
        ids=_ids(project_id, workflow_id),
        **extra,
    )
    return make_response(html)
