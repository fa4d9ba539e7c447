"""Sandbox pages: create one from a project (its admins), compare a sandbox with its parent
(viewers of both), review and apply a merge into the parent (admins of both).

Each view loads the project in the URL through `project_access`; the service checks the
role in the other project of the pair and answers Forbidden naming the role missing there.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Conflict, Invalid
from app.services.sandboxes import cloning, comparing, merging
from app.web.access import project_access
from app.web.sandboxes.forms import CloneForm, MergeForm

bp = Blueprint("sandboxes", __name__)


def configure(app: Flask) -> None:
    """Let every project page show its sandbox relations (the header's badge, the settings
    card, the projects list's labels) without each view passing them."""
    app.add_template_global(cloning.relations, "sandbox_relations")
    app.add_template_global(cloning.parents_by_id, "sandbox_parents")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every sandbox page needs a signed-in user."""


@bp.get("/projects/<uuid:project_id>/sandboxes/new")
def new(project_id: uuid.UUID):
    """The create-sandbox form: what is copied, and which credentials come along."""
    access = project_access(project_id, Role.ADMIN)
    return _new_page(access, CloneForm(formdata=None))


@bp.post("/projects/<uuid:project_id>/sandboxes")
def create(project_id: uuid.UUID):
    """Clone the project into a new sandbox owned by the current user."""
    access = project_access(project_id, Role.ADMIN)
    form = CloneForm()
    if not form.validate_on_submit():
        return _new_page(access, form, status=422)
    try:
        result = cloning.create_sandbox(current_user, project_id, form.name.data)
    except Invalid as error:
        form.name.errors.append(error.message)
        return _new_page(access, form, status=422)
    flash(f"Sandbox “{result.sandbox.name}” created. You are its owner.", "success")
    if result.not_shared:
        names = ", ".join(f"{n.name} (owner: {n.owner})" for n in result.not_shared)
        flash(
            f"Not shared into the sandbox: {names}. Only a credential's owner can share it; "
            "ask them. Steps using one have no credential in the sandbox.",
            "warning",
        )
    return redirect(url_for("projects.show", project_id=result.sandbox.id))


@bp.get("/projects/<uuid:project_id>/sandbox/compare")
def compare(project_id: uuid.UUID):
    """The sandbox's differences from its parent."""
    access = project_access(project_id)
    comparison = comparing.compare(current_user, project_id)
    return render_template(
        "sandboxes/compare.html",
        access=access,
        project=access.project,
        comparison=comparison,
        can_merge=access.can(Role.ADMIN),
    )


@bp.get("/projects/<uuid:project_id>/sandbox/merge")
def review(project_id: uuid.UUID):
    """The merge plan: what the parent would get, and its own changes that would go."""
    access = project_access(project_id, Role.ADMIN)
    plan = merging.plan_merge(current_user, project_id)
    return _merge_page(access, plan, MergeForm(formdata=None, fingerprint=plan.fingerprint))


@bp.post("/projects/<uuid:project_id>/sandbox/merge")
def merge(project_id: uuid.UUID):
    """Merge the sandbox into its parent, as reviewed."""
    access = project_access(project_id, Role.ADMIN)
    form = MergeForm()
    delete = request.form.getlist("delete")
    if not form.validate_on_submit():
        plan = merging.plan_merge(current_user, project_id, delete)
        message = next((m for messages in form.errors.values() for m in messages), None)
        return _merge_page(access, plan, form, status=422, error=message)
    try:
        plan = merging.merge(
            current_user,
            project_id,
            fingerprint=form.fingerprint.data,
            delete=delete,
            understood=form.understand.data,
        )
    except (Invalid, Conflict) as error:
        # The page again, from the projects as they are now, with the reason on top.
        plan = merging.plan_merge(current_user, project_id, delete)
        if getattr(error, "field", None) == merging.CONFIRM_FIELD:
            form.understand.errors.append(error.message)
        status = 409 if isinstance(error, Conflict) else 422
        return _merge_page(access, plan, form, status=status, error=error.message)
    flash(f"Sandbox merged into “{plan.parent.name}”.", "success")
    return redirect(url_for("projects.show", project_id=plan.parent.id))


def _new_page(access, form: CloneForm, status: int = 200):
    if not form.name.data:
        form.name.data = cloning.default_name(access.project)
    return render_template(
        "sandboxes/new.html",
        access=access,
        project=access.project,
        form=form,
        preview=cloning.preview_shares(current_user, access.project.id),
    ), status


def _merge_page(access, plan, form: MergeForm, status: int = 200, error: str | None = None):
    # The fingerprint shown is always the plan's: a stale one was just refused.
    form.fingerprint.data = plan.fingerprint
    return render_template(
        "sandboxes/merge.html",
        access=access,
        project=access.project,
        plan=plan,
        form=form,
        chosen=set(request.form.getlist("delete")),
        error=error,
    ), status
