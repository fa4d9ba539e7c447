"""A project's settings: name and description, egress allowlist, MFA requirement, run
limits, the project as code (project.yaml downloaded, or planned and applied), deletion.

Every member reads the page (the forms shown disabled); admins and owners change the
settings; only the owner deletes the project. Each form posts to its own URL and comes back
to the page, with the error next to its field when the service refused it.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Project, Role
from app.services import project_limits, project_settings
from app.services.deletions import jobs as deletion_jobs
from app.services.deletions import projects as project_deletion
from app.services.egress import allowlist
from app.services.errors import Invalid
from app.services.project_code import diff, document, importing
from app.services.workflows.shapes import Problem
from app.web.access import ProjectAccess, project_access
from app.web.navigation import NavItem
from app.web.pasted_documents import pasted_or_uploaded
from app.web.project_settings.forms import (
    MAX_DOCUMENT_LENGTH,
    DeleteForm,
    DetailsForm,
    EgressForm,
    LimitsForm,
    MfaForm,
    ProjectCodeForm,
)

bp = Blueprint("project_settings", __name__)
NAV = NavItem(
    "Settings",
    "gear",
    "project_settings.show",
    90,
    also_current_in=("members", "audit", "notifications", "data_protection"),
)

NOTHING_GIVEN = "Paste a project.yaml, or upload the file."


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every settings page needs a signed-in user."""


@bp.get("/projects/<uuid:project_id>/settings")
def show(project_id: uuid.UUID):
    """The settings page; `?add=<entry>` (from the builder's warning) puts that entry at the
    end of the allowlist form for an admin to review and save."""
    access = project_access(project_id)
    return _page(access, suggested=_suggestion(access, request.args.get("add", "")))


@bp.post("/projects/<uuid:project_id>/settings/details")
def update_details(project_id: uuid.UUID):
    """Rename the project or change its description (admins)."""
    access = project_access(project_id, Role.ADMIN)
    form = DetailsForm()
    if not form.validate_on_submit():
        return _page(access, details=form, status=422)
    try:
        project_settings.update_details(
            current_user, project_id, form.name.data, form.description.data or ""
        )
    except Invalid as error:
        form[error.field].errors.append(error.message)
        return _page(access, details=form, status=422)
    flash("Name and description saved.", "success")
    return redirect(url_for("project_settings.show", project_id=project_id))


@bp.post("/projects/<uuid:project_id>/settings/egress")
def update_egress(project_id: uuid.UUID):
    """Replace the egress allowlist (admins); the warnings about what it opens are flashed."""
    access = project_access(project_id, Role.ADMIN)
    form = EgressForm()
    if not form.validate_on_submit():
        return _page(access, egress=form, status=422)
    try:
        warnings = project_settings.update_allowlist(
            current_user, project_id, form.egress_allowlist.data or ""
        )
    except Invalid as error:
        form.egress_allowlist.errors.append(error.message)
        return _page(access, egress=form, status=422)
    flash("Egress allowlist saved. Runs started from now on use it.", "success")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("project_settings.show", project_id=project_id, _anchor="egress"))


@bp.post("/projects/<uuid:project_id>/settings/mfa")
def update_mfa(project_id: uuid.UUID):
    """Require two-factor authentication of members, or stop requiring it (admins)."""
    access = project_access(project_id, Role.ADMIN)
    form = MfaForm()
    if not form.validate_on_submit():
        return _page(access, mfa=form, status=422)
    project = project_settings.set_require_mfa(current_user, project_id, form.require_mfa.data)
    if project.require_mfa:
        flash("Members now need two-factor authentication to open this project.", "success")
    else:
        flash("Two-factor authentication is no longer required in this project.", "success")
    return redirect(url_for("project_settings.show", project_id=project_id, _anchor="security"))


@bp.post("/projects/<uuid:project_id>/settings/limits")
def update_limits(project_id: uuid.UUID):
    """Change the project's run limits within the instance maxima (admins)."""
    access = project_access(project_id, Role.ADMIN)
    form = LimitsForm()
    if not form.validate_on_submit():
        return _page(access, limits=form, status=422)
    values = {limit.field: form[limit.field].data for limit in project_limits.LIMITS}
    try:
        project_limits.update_limits(current_user, project_id, values, form.discard_logs.data)
    except Invalid as error:
        form[error.field].errors.append(error.message)
        return _page(access, limits=form, status=422)
    flash("Run limits saved. Runs started from now on use them.", "success")
    return redirect(url_for("project_settings.show", project_id=project_id, _anchor="limits"))


@bp.post("/projects/<uuid:project_id>/settings/delete")
def delete(project_id: uuid.UUID):
    """Delete the project after its name was typed (owner only); its data goes in the
    background."""
    access = project_access(project_id, Role.OWNER)
    form = DeleteForm()
    if not form.validate_on_submit():
        return _page(access, delete=form, status=422)
    try:
        project = project_deletion.request_deletion(
            current_user, project_id, form.confirm_name.data
        )
    except Invalid as error:
        form.confirm_name.errors.append(error.message)
        return _page(access, delete=form, status=422)
    flash(_deleted_message(project), "success")
    return redirect(url_for("projects.index"))


@bp.get("/projects/<uuid:project_id>/settings/project.yaml")
def download_code(project_id: uuid.UUID):
    """The whole project as a project.yaml file (every member)."""
    access = project_access(project_id)
    text = document.to_yaml(document.export_project(access.project.id))
    return Response(
        text,
        mimetype="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="project.yaml"'},
    )


@bp.post("/projects/<uuid:project_id>/settings/code/plan")
def plan_code(project_id: uuid.UUID):
    """What a pasted or uploaded project.yaml would change (admins); nothing is stored."""
    access = project_access(project_id, Role.ADMIN)
    form = ProjectCodeForm()
    text = pasted_or_uploaded(form, MAX_DOCUMENT_LENGTH, NOTHING_GIVEN)
    if text is None:
        return _page(access, code=form, status=422)
    try:
        planned = importing.plan_project(text, project_id, actor=current_user)
    except Invalid as error:
        return _page(access, code=form, problems=_problems(error), status=422)
    return _page(access, code=form, plan=planned)


@bp.post("/projects/<uuid:project_id>/settings/code/apply")
def apply_code(project_id: uuid.UUID):
    """Make the project match the project.yaml (admins): all of it, or nothing."""
    access = project_access(project_id, Role.ADMIN)
    form = ProjectCodeForm()
    text = pasted_or_uploaded(form, MAX_DOCUMENT_LENGTH, NOTHING_GIVEN)
    if text is None:
        return _page(access, code=form, status=422)
    try:
        result = importing.apply_project(text, current_user, project_id=project_id)
    except Invalid as error:
        return _page(access, code=form, problems=_problems(error), status=422)
    count = len(result.changes)
    if count:
        flash(f"project.yaml applied: {count} change{'s' if count != 1 else ''}.", "success")
    else:
        flash("project.yaml applied: the project already matched it, nothing changed.", "info")
    return redirect(url_for("project_settings.show", project_id=project_id, _anchor="code"))


def _plan_rows(planned: list) -> list[dict]:
    """Each planned change for the page, with the line diff of changed text (job bodies)."""
    rows = []
    for change in planned:
        lines: list[str] = []
        texts = isinstance(change.before, str) and isinstance(change.after, str)
        if change.kind == diff.CHANGED and texts and "\n" in change.before + change.after:
            lines = diff.text_diff(change.before, change.after)
        rows.append({"path": change.path, "kind": change.kind, "lines": lines})
    return rows


def _problems(error: Invalid) -> list[Problem]:
    return getattr(error, "problems", None) or [Problem(error.field, error.message)]


def _suggestion(access: ProjectAccess, text: str) -> str | None:
    """The entry an admin was sent to add, when it is valid and not in the list yet."""
    if not text or not access.can(Role.ADMIN):
        return None
    try:
        entry = allowlist.parse_entry(text)
    except Invalid:
        return None
    return None if entry.text in (access.project.egress_allowlist or []) else entry.text


def _deleted_message(project: Project) -> str:
    if project.deletion_due_at == project.deletion_requested_at:  # no grace period
        return f"Project “{project.name}” deleted. Its data is being removed in the background."
    return (
        f"Project “{project.name}” deleted. Its data is removed on "
        f"{deletion_jobs.day(project.deletion_due_at)}; until then you can cancel below."
    )


def _page(
    access: ProjectAccess,
    *,
    suggested: str | None = None,
    status: int = 200,
    plan: list | None = None,
    problems: list | None = None,
    **forms,
):
    """The settings page; forms not given show the saved values."""
    project = access.project
    saved = list(project.egress_allowlist or [])
    egress_text = "\n".join([*saved, suggested] if suggested else saved)
    return render_template(
        "project_settings/show.html",
        access=access,
        project=project,
        details=forms.get("details") or DetailsForm(formdata=None, obj=project),
        egress=forms.get("egress") or EgressForm(formdata=None, egress_allowlist=egress_text),
        mfa=forms.get("mfa") or MfaForm(formdata=None, require_mfa=project.require_mfa),
        limits=forms.get("limits") or LimitsForm(formdata=None, obj=project),
        instance_limits=project_limits.instance_values(),
        delete=forms.get("delete") or DeleteForm(formdata=None),
        code=forms.get("code") or ProjectCodeForm(formdata=None),
        plan=_plan_rows(plan) if plan is not None else None,
        problems=problems or [],
        warnings=project_settings.allowlist_warnings(project),
        suggested=suggested,
        can_change=access.can(Role.ADMIN),
        can_delete=access.can(Role.OWNER),
        purge_on=deletion_jobs.purge_date_if_deleted_now(),
    ), status
