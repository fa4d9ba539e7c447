"""A project's settings: name and description, egress allowlist, MFA requirement, deletion.

Every member reads the page (the forms shown disabled); admins and owners change the
settings; only the owner deletes the project. Each form posts to its own URL and comes back
to the page, with the error next to its field when the service refused it.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services import project_settings
from app.services.egress import allowlist
from app.services.errors import Invalid
from app.web.access import ProjectAccess, project_access
from app.web.navigation import NavItem
from app.web.project_settings.forms import DeleteForm, DetailsForm, EgressForm, MfaForm

bp = Blueprint("project_settings", __name__)
NAV = NavItem(
    "Settings",
    "gear",
    "project_settings.show",
    90,
    also_current_in=("members", "audit", "notifications"),
)


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


@bp.post("/projects/<uuid:project_id>/settings/delete")
def delete(project_id: uuid.UUID):
    """Delete the project after its name was typed (owner only); its data goes in the
    background."""
    access = project_access(project_id, Role.OWNER)
    form = DeleteForm()
    if not form.validate_on_submit():
        return _page(access, delete=form, status=422)
    try:
        name = project_settings.request_deletion(current_user, project_id, form.confirm_name.data)
    except Invalid as error:
        form.confirm_name.errors.append(error.message)
        return _page(access, delete=form, status=422)
    flash(f"Project “{name}” deleted. Its data is being removed in the background.", "success")
    return redirect(url_for("projects.index"))


def _suggestion(access: ProjectAccess, text: str) -> str | None:
    """The entry an admin was sent to add, when it is valid and not in the list yet."""
    if not text or not access.can(Role.ADMIN):
        return None
    try:
        entry = allowlist.parse_entry(text)
    except Invalid:
        return None
    return None if entry.text in (access.project.egress_allowlist or []) else entry.text


def _page(access: ProjectAccess, *, suggested: str | None = None, status: int = 200, **forms):
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
        delete=forms.get("delete") or DeleteForm(formdata=None),
        warnings=project_settings.allowlist_warnings(project),
        suggested=suggested,
        can_change=access.can(Role.ADMIN),
        can_delete=access.can(Role.OWNER),
    ), status
