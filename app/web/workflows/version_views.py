"""The builder's version history: the History panel's list, one version drawn read-only on
the canvas, two versions compared (marked on the canvas, with line diffs), and restoring an
old version as a new one."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Conflict, Invalid
from app.services.studio import versions
from app.web.access import ProjectAccess, project_access
from app.web.workflows.blueprint import bp


@bp.get("/<uuid:workflow_id>/versions")
@login_required
def versions_list(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """The History panel: saved versions newest first (`?before=N` continues the list)."""
    access = project_access(project_id)
    workflow = access.workflow(workflow_id)
    cursor = request.args.get("before")
    before = versions.version_number(cursor, "before") if cursor is not None else None
    page = versions.list_versions(workflow.id, project_id, before)
    return render_template(
        "workflows/_versions.html",
        page=page,
        more=before is not None,
        ids={"project_id": project_id, "workflow_id": workflow_id},
        can_edit=access.can(Role.EDITOR),
    )


@bp.get("/<uuid:workflow_id>/versions/<int:version>")
@login_required
def version(project_id: uuid.UUID, workflow_id: uuid.UUID, version: int):
    """One saved version drawn read-only on the canvas."""
    access = project_access(project_id)
    workflow = access.workflow(workflow_id)
    document = versions.version_document(workflow.id, project_id, version)
    return _page(access, workflow, version, document, comparison=None)


@bp.get("/<uuid:workflow_id>/versions/<int:version>/compare")
@login_required
def compare_versions(project_id: uuid.UUID, workflow_id: uuid.UUID, version: int):
    """Version `version` compared with `?with=N` (by default the one before it, or the
    current version for the first): changes marked on the canvas and listed with diffs."""
    access = project_access(project_id)
    workflow = access.workflow(workflow_id)
    other_text = request.args.get("with")
    if other_text is not None:
        other = versions.version_number(other_text, "with")
    else:
        other = version - 1 if version > 1 else workflow.lock_version
    older, newer = sorted((version, other))
    comparison = versions.compare(workflow.id, project_id, older, newer)
    return _page(access, workflow, version, comparison.document, comparison=comparison)


@bp.post("/<uuid:workflow_id>/versions/<int:version>/restore")
@login_required
def restore_version(project_id: uuid.UUID, workflow_id: uuid.UUID, version: int):
    """Save an old version again as the new current version (editors), unless someone
    saved since the page was opened."""
    access = project_access(project_id, Role.EDITOR)
    workflow = access.workflow(workflow_id)
    try:
        expected = versions.version_number(request.form.get("lock_version"), "lock_version")
        saved = versions.restore(workflow.id, project_id, version, expected, current_user.id)
    except (Conflict, Invalid) as error:
        document = versions.version_document(workflow.id, project_id, version)
        status = 409 if isinstance(error, Conflict) else 422
        return _page(access, workflow, version, document, None, error.message), status
    flash(f"Restored version {version} as version {saved.lock_version}.", "success")
    return redirect(url_for("workflows.builder", project_id=project_id, workflow_id=workflow.id))


def _page(access: ProjectAccess, workflow, version: int, document, comparison, error=None):
    row = versions.describe_version(workflow.id, access.project.id, version)
    return render_template(
        "workflows/version.html",
        access=access,
        project=access.project,
        workflow=workflow,
        version=version,
        row=row,
        comparison=comparison,
        error=error,
        can_edit=access.can(Role.EDITOR),
        ids={"project_id": access.project.id, "workflow_id": workflow.id},
        data={
            "document": document,
            "positions": workflow.positions or {},
            "marks": comparison.marks if comparison else {},
        },
    )
