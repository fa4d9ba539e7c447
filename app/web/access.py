"""Load-or-404 and role checks; every view that touches a project calls these first.

The one authorization path: `project_access` for pages and fragments (the API's
`app/web/api/access.py` shares `acting_role` and `require_role`), then the objects named in the
URL through the `ProjectAccess` it returns (`access.workflow(id)`, `access.run(id)`), so that
another project's workflow or run is a 404 even to a member of the project in the URL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, abort, flash, g, redirect, request
from flask_login import current_user, login_url

from app.models import Project, Role, Run, User, Workflow
from app.services import projects as project_service
from app.services.errors import Forbidden, NotFound
from app.services.runs import queries as run_queries
from app.services.workflows import store as workflow_store
from app.web import htmx, mfa_gate


@dataclass(frozen=True)
class ProjectAccess:
    """A project the current user may open, with the role they act under."""

    project: Project
    role: Role

    def can(self, needed: Role) -> bool:
        """True when the role allows an action that needs `needed`."""
        return self.role.allows(needed)

    def workflow(self, workflow_id: uuid.UUID) -> Workflow:
        """The project's workflow `workflow_id` (404 for another project's)."""
        return workflow_store.get_workflow(workflow_id, self.project.id)

    def run(self, run_id: uuid.UUID, workflow_id: uuid.UUID | None = None) -> Run:
        """The project's run `run_id` (404 for another project's); with `workflow_id`, also
        404 unless it is a run of that workflow."""
        run = run_queries.get_run(run_id, self.project.id)
        if workflow_id is not None and run.workflow_id != workflow_id:
            raise NotFound("There is no such run of this workflow.")
        return run


def acting_role(user: User, project_id: uuid.UUID) -> Role | None:
    """The role `user` acts under in the project: their membership's, owner for superusers
    (they may do everything an owner can), None for everyone else."""
    role = project_service.role_in_project(user, project_id)
    if role is None and user.is_superuser:
        role = Role.OWNER
    return role


def require_role(role: Role, needed: Role) -> None:
    """Forbidden, naming the role the action needs, unless `role` allows it."""
    if not role.allows(needed):
        raise Forbidden(
            f"This needs the {needed.value} role in the project; yours is {role.value}. "
            "Ask one of the project's admins if you need it."
        )


def unauthorized() -> Response:
    """Where a request without a (live) session goes: a page redirects to the sign-in page and
    comes back afterwards; an htmx request (a fragment, a poll after the session ended) gets
    401 with HX-Redirect, so that the whole page goes to sign in and comes back to the page
    the browser showed, instead of the sign-in form being swapped into a fragment."""
    flash("Sign in to continue.", "info")
    if not htmx.is_htmx_request():
        return redirect(login_url("auth.login", next_url=request.url))
    response = Response("Sign in to continue.", status=401, mimetype="text/plain")
    return htmx.redirect_client(response, login_url("auth.login", next_url=_page_shown()))


def _page_shown() -> str:
    """The page an htmx request came from (HX-Current-URL) when it is on this site, else the
    requested URL itself."""
    shown = urlsplit(request.headers.get("HX-Current-URL", ""))
    if shown.netloc != request.host or not shown.path.startswith("/"):
        return request.full_path.rstrip("?")
    return shown.path + (f"?{shown.query}" if shown.query else "")


def superuser_only() -> None:
    """404 for anyone but a superuser, as if the page did not exist."""
    if not current_user.is_authenticated or not current_user.is_superuser:
        abort(404)


def project_access(project_id: uuid.UUID, needed: Role = Role.VIEWER) -> ProjectAccess:
    """The project if the current user holds at least `needed` in it; 404 if they are not a
    member (so outsiders cannot tell the project exists), 403 naming the role needed if
    theirs is too weak."""
    try:
        project = project_service.get_project(project_id)
    except NotFound:
        abort(404)
    role = acting_role(current_user, project.id)
    if role is None:
        abort(404)
    mfa_gate.require_project_mfa(project, current_user)  # members only: outsiders got 404
    require_role(role, needed)
    access = ProjectAccess(project=project, role=role)
    # Kept for the page's top bar, which shows every member their role (project_base.html).
    g.project_access = access
    return access
