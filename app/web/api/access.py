"""Role checks for API calls; the API user comes from the bearer token."""

from __future__ import annotations

import uuid

from flask import g

from app.models import Project, Role, Run, Workflow
from app.services import projects as project_service
from app.services.errors import Forbidden, NotFound
from app.services.runs import queries
from app.services.workflows import store
from app.web import mfa_gate


def project_for(project_id: uuid.UUID, needed: Role) -> Project:
    """The project if the token's user holds at least `needed` in it (404 for outsiders)."""
    project = project_service.get_project(project_id)
    role = project_service.role_in_project(g.api_user, project.id)
    if role is None and g.api_user.is_superuser:
        role = Role.OWNER
    if role is None:
        raise NotFound("There is no such project.")
    mfa_gate.refuse_api_without_mfa(project, g.api_user)
    if not role.allows(needed):
        raise Forbidden(
            f"This needs the {needed.value} role in the project; yours is {role.value}."
        )
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
