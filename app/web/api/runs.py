"""API: work orders, runs, logs, retries (by hand, and steering automatic ones), cancelling
and bulk reruns."""

from __future__ import annotations

import uuid

from flask import g, jsonify, request

from app.models import Role
from app.services.errors import Invalid
from app.services.runs import bulk_reruns, commands, queries, retries
from app.web.api import body as read
from app.web.api import serialize
from app.web.api.access import project_for, run_for, work_order_for
from app.web.api.blueprint import bp


@bp.get("/work_orders/<uuid:work_order_id>")
def get_work_order(work_order_id: uuid.UUID):
    """A work order with its runs and their steps."""
    work_order = work_order_for(work_order_id, Role.VIEWER)
    runs = queries.runs_of(work_order.id)
    steps = queries.steps_of([r.id for r in runs])
    return jsonify(serialize.work_order(work_order, [serialize.run(r, steps[r.id]) for r in runs]))


@bp.get("/runs/<uuid:run_id>")
def get_run(run_id: uuid.UUID):
    """A run with its steps."""
    run = run_for(run_id, Role.VIEWER)
    return jsonify(serialize.run(run, queries.steps_of([run.id])[run.id]))


@bp.get("/runs/<uuid:run_id>/logs")
def get_logs(run_id: uuid.UUID):
    """A run's log lines (`?level=warn` for warnings and errors only)."""
    run = run_for(run_id, Role.VIEWER)
    lines = queries.logs_of(run.id, level=request.args.get("level"))
    return jsonify({"logs": [serialize.log_line(line) for line in lines]})


@bp.get("/projects/<uuid:project_id>/runs")
def list_runs(project_id: uuid.UUID):
    """Runs newest first; filters `state`, `workflow_id`; keyset paging with `cursor`."""
    project_for(project_id, Role.VIEWER)
    page = queries.list_runs(
        project_id,
        state=request.args.get("state"),
        workflow_id=read.an_id(request.args.get("workflow_id"), "workflow_id"),
        limit=read.query_int("limit") or 50,
        cursor=read.query_text("cursor"),
    )
    return jsonify({"runs": [serialize.run(r) for r in page.runs], "next_cursor": page.next_cursor})


@bp.post("/runs/<uuid:run_id>/retry")
def retry(run_id: uuid.UUID):
    """Retry from the start or from `step_id`, on the `latest` or `original` snapshot."""
    run = run_for(run_id, Role.EDITOR)
    body = read.json_object()
    snapshot = body.get("snapshot", "latest")
    if snapshot not in ("latest", "original"):
        raise Invalid("snapshot", "snapshot is latest or original.")
    new_run = commands.retry_run(
        run.id,
        project_id=run.project_id,
        actor_id=g.api_user.id,
        step_id=read.an_id(body.get("step_id"), "step_id"),
        snapshot=snapshot,
    )
    return jsonify({"work_order_id": str(new_run.work_order_id), "run_id": str(new_run.id)}), 201


@bp.post("/runs/<uuid:run_id>/cancel")
def cancel(run_id: uuid.UUID):
    """Cancel a run still waiting for a worker."""
    run = run_for(run_id, Role.EDITOR)
    commands.cancel_run(run.id, project_id=run.project_id)
    return jsonify({"run_id": str(run.id), "state": "cancelled"})


@bp.post("/runs/<uuid:run_id>/retry_now")
def retry_now(run_id: uuid.UUID):
    """Make a run waiting for an automatic retry try its next attempt now (409 otherwise)."""
    run = run_for(run_id, Role.EDITOR)
    retries.retry_now(run.id, project_id=run.project_id)
    return jsonify({"run_id": str(run.id), "state": "available"})


@bp.post("/runs/<uuid:run_id>/give_up")
def give_up(run_id: uuid.UUID):
    """Stop a waiting run's automatic retries: it ends failed (409 when it is not waiting)."""
    run = run_for(run_id, Role.EDITOR)
    retries.give_up(run.id, project_id=run.project_id, actor=g.api_user)
    return jsonify({"run_id": str(run.id), "state": "failed"})


@bp.post("/projects/<uuid:project_id>/bulk_rerun")
def bulk_rerun(project_id: uuid.UUID):
    """Rerun many work orders in the background: `{"work_order_ids": [...]}` or
    `{"filter": {"state": "failed", "workflow_id": "..."}}`, optional `"step": "<job key>"`."""
    project_for(project_id, Role.EDITOR)
    body = read.json_object()
    job = bulk_reruns.start(
        project_id,
        actor_id=g.api_user.id,
        work_order_ids=body.get("work_order_ids"),
        filters=body.get("filter"),
        step_key=body.get("step"),
    )
    return jsonify(job), 202


@bp.get("/projects/<uuid:project_id>/bulk_rerun/<job_id>")
def bulk_rerun_progress(project_id: uuid.UUID, job_id: str):
    """How far a bulk rerun has got."""
    project_for(project_id, Role.VIEWER)
    return jsonify(bulk_reruns.progress(project_id, job_id))
