"""Load-or-404 and role checks; every view that touches a project calls these first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import abort, g
from flask_login import current_user

from app.models import Project, Role
from app.services import projects as project_service
from app.services.errors import NotFound
from app.web import mfa_gate


@dataclass(frozen=True)
class ProjectAccess:
    """A project the current user may open, with the role they act under."""

    project: Project
    role: Role

    def can(self, needed: Role) -> bool:
        """True when the role allows an action that needs `needed`."""
        return self.role.allows(needed)


def project_access(project_id: uuid.UUID, needed: Role = Role.VIEWER) -> ProjectAccess:
    """The project if the current user holds at least `needed` in it; 404 if they are not a
    member (so outsiders cannot tell the project exists), 403 if their role is too weak."""
    try:
        project = project_service.get_project(project_id)
    except NotFound:
        abort(404)
    role = project_service.role_in_project(current_user, project.id)
    if role is None and current_user.is_superuser:
        role = Role.OWNER  # superusers may do everything an owner can
    if role is None:
        abort(404)
    mfa_gate.require_project_mfa(project, current_user)  # members only: outsiders got 404
    if not role.allows(needed):
        abort(403)
    access = ProjectAccess(project=project, role=role)
    # Kept for the page's top bar, which shows every member their role (project_base.html).
    g.project_access = access
    return access
