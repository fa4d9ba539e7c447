"""A project's Data protection tab: how long history and dataclip bodies are kept, and zero
persistence. Every member reads it; admins and owners change it."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.retention import policy
from app.services.zero_persistence import settings as zero_persistence
from app.web.access import ProjectAccess, project_access
from app.web.data_protection.forms import RetentionForm, ZeroPersistenceForm

bp = Blueprint("data_protection", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every data protection page needs a signed-in user."""


@bp.get("/projects/<uuid:project_id>/settings/data")
def show(project_id: uuid.UUID):
    """The Data protection tab."""
    return _page(project_access(project_id))


@bp.post("/projects/<uuid:project_id>/settings/data/retention")
def update_retention(project_id: uuid.UUID):
    """Save how long history and bodies are kept (admins)."""
    access = project_access(project_id, Role.ADMIN)
    form = RetentionForm()
    if not form.validate_on_submit():
        return _page(access, retention=form, status=422)
    try:
        history = policy.parse_choice("history_retention_days", form.history_retention_days.data)
        bodies = policy.parse_choice("dataclip_retention_days", form.dataclip_retention_days.data)
        policy.update(current_user, project_id, history, bodies)
    except Invalid as error:
        form[error.field].errors.append(error.message)
        return _page(access, retention=form, status=422)
    flash(_saved_message(policy.preview(project_id, history, bodies)), "success")
    return redirect(url_for("data_protection.show", project_id=project_id))


@bp.post("/projects/<uuid:project_id>/settings/data/zero-persistence")
def update_zero_persistence(project_id: uuid.UUID):
    """Turn zero persistence on (once its consequences are acknowledged) or off (admins)."""
    access = project_access(project_id, Role.ADMIN)
    form = ZeroPersistenceForm()
    enabled = {"on": True, "off": False}.get(form.enabled.data or "")
    if not form.validate_on_submit() or enabled is None:
        form.enabled.errors = [*form.enabled.errors, "Choose to turn it on or off."]
        return _page(access, zero_persistence=form, status=422)
    try:
        zero_persistence.update(current_user, project_id, enabled, form.understood.data)
    except Invalid as error:
        field = form.understood if error.field == "understood" else form.enabled
        field.errors = [*field.errors, error.message]
        return _page(access, zero_persistence=form, status=422)
    flash(
        "Zero persistence is on: runs that start from now on keep no inputs or outputs."
        if enabled
        else "Zero persistence is off: new runs store their inputs and outputs again.",
        "success",
    )
    return redirect(url_for("data_protection.show", project_id=project_id) + "#zero-persistence")


def _saved_message(preview: policy.Preview) -> str:
    if not (preview.work_orders or preview.bodies):
        return "Retention saved. Nothing is old enough to be removed yet."
    return (
        f"Retention saved. Older than the new limits: {preview.sentence()}; the background "
        "purge removes them within a few minutes."
    )


def _page(access: ProjectAccess, *, status: int = 200, **forms):
    """The tab; forms not given show the saved values."""
    project = access.project
    return render_template(
        "data_protection/show.html",
        access=access,
        project=project,
        retention=forms.get("retention") or RetentionForm.of(project),
        waiting=policy.preview(
            project.id, project.history_retention_days, project.dataclip_retention_days
        ),
        can_change=access.can(Role.ADMIN),
        zero_persistence=forms.get("zero_persistence") or ZeroPersistenceForm(formdata=None),
        consequences=zero_persistence.CONSEQUENCES,
    ), status
