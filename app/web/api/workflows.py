"""API: workflows as YAML/JSON documents, and starting runs."""

from __future__ import annotations

import json
import uuid

from flask import g, jsonify

from app.models import Role
from app.services import project_limits
from app.services.errors import Conflict
from app.services.runs import commands
from app.services.studio import conflicts, versions
from app.services.workflows import store
from app.web.api import body as read
from app.web.api import serialize
from app.web.api.access import project_for, workflow_for
from app.web.api.blueprint import bp


@bp.get("/projects/<uuid:project_id>/workflows")
def list_workflows(project_id: uuid.UUID):
    """The project's workflows."""
    project_for(project_id, Role.VIEWER)
    items = [serialize.workflow(store.get_workflow(w.id)) for w in store.list_workflows(project_id)]
    return jsonify({"workflows": items})


@bp.post("/projects/<uuid:project_id>/workflows")
def create_workflow(project_id: uuid.UUID):
    """Create a workflow from a YAML or JSON document (422 names the bad field)."""
    project_for(project_id, Role.EDITOR)
    workflow = store.create_workflow(project_id, read.document(), g.api_user.id)
    return jsonify(serialize.workflow(workflow)), 201


@bp.get("/workflows/<uuid:workflow_id>")
def get_workflow(workflow_id: uuid.UUID):
    """A workflow with its trigger ids, webhook URLs and document."""
    return jsonify(serialize.workflow(workflow_for(workflow_id, Role.VIEWER)))


@bp.put("/workflows/<uuid:workflow_id>")
def replace_workflow(workflow_id: uuid.UUID):
    """Replace a workflow's document; pass `?lock_version=N` to refuse overwriting newer work
    and `?message=` for the words the version history shows with it."""
    workflow = workflow_for(workflow_id, Role.EDITOR)
    # Read before anything is replaced: "?lock_version=abc" must not skip the lock.
    expected = read.query_int("lock_version")
    message = versions.check_message(read.query_text("message", versions.MAX_MESSAGE))
    try:
        replaced = store.replace_workflow(
            workflow.id,
            read.document(),
            expected_version=expected,
            actor_id=g.api_user.id,
            message=message,
        )
    except Conflict as stale:
        # Name the current version and who saved it, so a script can fetch and merge.
        details = conflicts.summary(workflow.id, expected)
        return jsonify({"error": stale.message, "status": 409, **details}), 409
    return jsonify(serialize.workflow(replaced))


@bp.delete("/workflows/<uuid:workflow_id>")
def delete_workflow(workflow_id: uuid.UUID):
    """Delete a workflow (its run history stays)."""
    workflow_for(workflow_id, Role.EDITOR)
    store.delete_workflow(workflow_id, actor_id=g.api_user.id)
    return "", 204


@bp.post("/workflows/<uuid:workflow_id>/runs")
def start_run(workflow_id: uuid.UUID):
    """Start a run: `{"input": {...}}`, `{"dataclip_id": "..."}` or `{}`; `step_id` optional."""
    workflow = workflow_for(workflow_id, Role.EDITOR)
    body = read.json_object()
    if body.get("input") is not None:  # the project's payload limit, as in the builder
        project_limits.check_input_size(
            workflow.project_id, json.dumps(body["input"], ensure_ascii=False)
        )
    run = commands.start_manual_run(
        workflow.id,
        project_id=workflow.project_id,
        actor_id=g.api_user.id,
        custom_input=body.get("input"),
        dataclip_id=read.an_id(body.get("dataclip_id"), "dataclip_id"),
        step_id=read.an_id(body.get("step_id"), "step_id"),
    )
    return jsonify({"work_order_id": str(run.work_order_id), "run_id": str(run.id)}), 201
