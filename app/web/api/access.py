"""Role checks for API calls; the API user comes from the bearer token. The same rules as
app/web/access.py (`acting_role`, `require_role`), answered as JSON: every object is loaded
first, then its project's role is checked, so another project's id is a 404."""

from __future__ import annotations

import uuid

from flask import g

from app.models import Project, Role, Run, Workflow, WorkOrder
from app.services import projects as project_service
from app.services.errors import NotFound
from app.services.runs import queries
from app.services.workflows import store
from app.web import mfa_gate
from app.web.access import acting_role, require_role


def project_for(project_id: uuid.UUID, needed: Role) -> Project:
    """The project if the token's user holds at least `needed` in it (404 for outsiders)."""
    project = project_service.get_project(project_id)
    role = acting_role(g.api_user, project.id)
    if role is None:
        raise NotFound("There is no such project.")
    mfa_gate.refuse_api_without_mfa(project, g.api_user)
    require_role(role, needed)
    return project


def workflow_for(workflow_id: uuid.UUID, needed: Role) -> Workflow:
    """The workflow if the user holds `needed` in its project."""
    workflow = store.get_workflow(workflow_id)
    project_for(workflow.project_id, needed)
    return workflow


def run_for(run_id: uuid.UUID, needed: Role) -> Run:
    """The run if the user holds `needed` in its project."""
    run = queries.get_run(run_id)
    project_for(run.project_id, needed)
    return run


def work_order_for(work_order_id: uuid.UUID, needed: Role) -> WorkOrder:
    """The work order if the user holds `needed` in its project."""
    work_order = queries.get_work_order(work_order_id)
    project_for(work_order.project_id, needed)
    return work_order
