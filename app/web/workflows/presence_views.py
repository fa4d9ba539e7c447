"""Edit safety in the builder: who else has the workflow open (a polled heartbeat), and the
panel that explains a refused save (who saved since, and what they changed)."""

from __future__ import annotations

import uuid

from flask import Response, current_app, render_template, request
from flask_login import current_user, login_required

from app.models import Role
from app.services.studio import conflicts, presence
from app.web.access import project_access
from app.web.workflows.blueprint import bp


def _ttl_s() -> int:
    """How long an open tab counts without a heartbeat (FERRY_PRESENCE_TTL_S in the app's
    config; the toolbar polls every FERRY_PRESENCE_POLL_S, 10 s unless set)."""
    return int(current_app.config.get("FERRY_PRESENCE_TTL_S", presence.DEFAULT_TTL_S))


@bp.post("/<uuid:workflow_id>/presence")
@login_required
def presence_beat(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Say this tab has the workflow open; answer with the others who have it open."""
    access = project_access(project_id)
    access.workflow(workflow_id)
    tab = request.form.get("tab")
    if not presence.valid_tab(tab):
        return Response("Send the tab token the builder page gave you.", status=400)
    mode = presence.EDITING if access.can(Role.EDITOR) else presence.VIEWING
    people = presence.heartbeat(workflow_id, current_user.id, tab, mode, _ttl_s())
    return render_template("workflows/_presence.html", people=people)


@bp.post("/<uuid:workflow_id>/presence/leave")
@login_required
def presence_leave(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The tab is closing: take it off the list at once rather than when its entry expires."""
    project_access(project_id).workflow(workflow_id)
    tab = request.form.get("tab")
    if not presence.valid_tab(tab):
        return Response("Send the tab token the builder page gave you.", status=400)
    presence.leave(workflow_id, current_user.id, tab)
    return Response(status=204)


@bp.get("/<uuid:workflow_id>/conflict")
@login_required
def save_conflict(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Who saved since version `since` (the one the editor started from) and what changed."""
    project_access(project_id, Role.EDITOR).workflow(workflow_id)
    since = request.args.get("since", "")
    if not since.isdigit() or len(since) > 9:
        return Response("Say which version you started from: ?since=<number>.", status=400)
    conflict = conflicts.describe(workflow_id, int(since))
    return render_template("workflows/_save_conflict.html", conflict=conflict)
