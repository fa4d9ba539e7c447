"""A project's members: adding by email (invitations), roles, removal, ownership."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services import invitations
from app.services import members as member_service
from app.services.errors import Forbidden, Invalid
from app.web.access import ProjectAccess, project_access
from app.web.members import invitation_views  # noqa: F401 -- registers the invitation pages
from app.web.members.blueprint import bp
from app.web.members.forms import AddMemberForm, RoleForm

PREFIX = "/projects/<uuid:project_id>/settings/members"


@bp.get(PREFIX)
@login_required
def index(project_id: uuid.UUID):
    """Everyone in the project with their role; admins and the owner also manage them here."""
    return _page(project_access(project_id))


@bp.post(PREFIX)
@login_required
def add(project_id: uuid.UUID):
    """Add a member by email: an existing user joins, anyone else is invited by mail."""
    access = project_access(project_id, Role.ADMIN)
    form = AddMemberForm()
    if not form.validate_on_submit():
        return _page(access, 422, add_form=form)
    try:
        added = member_service.add_by_email(
            current_user, access.role, project_id, form.email.data, form.role.data
        )
    except Invalid as error:
        getattr(form, error.field, form.email).errors = [error.message]
        return _page(access, 422, add_form=form)
    if added.kind == "invited":
        flash(
            f"Invitation sent to {added.email} (as {added.role.value}). "
            "The link works once and for 7 days.",
            "success",
        )
    else:
        flash(
            f"{added.email} is now a member, as {added.role.value}. We told them by mail.",
            "success",
        )
    return redirect(url_for("members.index", project_id=project_id))


@bp.post(PREFIX + "/<uuid:member_id>/role")
@login_required
def change_role(project_id: uuid.UUID, member_id: uuid.UUID):
    """Give a member another role; it applies from their next click."""
    access = project_access(project_id, Role.ADMIN)
    form = RoleForm()
    if not form.validate_on_submit():
        return _page(access, 422, error="The form was incomplete. Choose a role and try again.")
    try:
        member = member_service.change_role(
            current_user, access.role, project_id, member_id, form.role.data
        )
    except Invalid as error:
        return _page(access, 422, error=error.message)
    flash(f"{member.name} is now {member.role.value}.", "success")
    return redirect(url_for("members.index", project_id=project_id))


@bp.get(PREFIX + "/<uuid:member_id>/remove")
@login_required
def confirm_remove(project_id: uuid.UUID, member_id: uuid.UUID):
    """Ask before removing, listing the member's credentials that will leave the project."""
    access = project_access(project_id, Role.ADMIN)
    member = member_service.get_member(project_id, member_id)
    return render_template(
        "members/remove.html",
        project=access.project,
        member=member,
        leaving=False,
        credentials=member_service.credentials_leaving(project_id, member.user_id),
    )


@bp.post(PREFIX + "/<uuid:member_id>/remove")
@login_required
def remove(project_id: uuid.UUID, member_id: uuid.UUID):
    """Remove the member; their credentials are unshared from the project."""
    access = project_access(project_id, Role.ADMIN)
    member = member_service.get_member(project_id, member_id)
    unshared = member_service.remove(current_user, access.role, project_id, member_id)
    if member.user_id == current_user.id:
        flash(f"You left “{access.project.name}”.", "success")
        return redirect(url_for("projects.index"))
    flash(f"{member.name} was removed from the project.{_unshared_note(unshared)}", "success")
    return redirect(url_for("members.index", project_id=project_id))


@bp.get(PREFIX + "/leave")
@login_required
def confirm_leave(project_id: uuid.UUID):
    """Ask before leaving the project, listing one's credentials that leave with one."""
    access = project_access(project_id)
    member = member_service.member_for_user(project_id, current_user.id)
    if member.role is Role.OWNER:
        raise Forbidden("The owner cannot leave. Hand ownership to another member first.")
    return render_template(
        "members/remove.html",
        project=access.project,
        member=member,
        leaving=True,
        credentials=member_service.credentials_leaving(project_id, current_user.id),
    )


@bp.post(PREFIX + "/leave")
@login_required
def leave(project_id: uuid.UUID):
    """Leave the project (not as its owner)."""
    access = project_access(project_id)
    unshared = member_service.leave(current_user, project_id)
    flash(f"You left “{access.project.name}”.{_unshared_note(unshared)}", "success")
    return redirect(url_for("projects.index"))


@bp.get(PREFIX + "/<uuid:member_id>/ownership")
@login_required
def confirm_transfer(project_id: uuid.UUID, member_id: uuid.UUID):
    """Ask the owner to confirm handing the project over."""
    access = project_access(project_id, Role.OWNER)
    member = member_service.get_member(project_id, member_id)
    if member.role is Role.OWNER:
        raise Invalid("member", f"{member.name} is the owner already.")
    return render_template("members/transfer.html", project=access.project, member=member)


@bp.post(PREFIX + "/<uuid:member_id>/ownership")
@login_required
def transfer(project_id: uuid.UUID, member_id: uuid.UUID):
    """Make the member the owner; the previous owner becomes an admin."""
    access = project_access(project_id, Role.OWNER)
    member = member_service.transfer_ownership(current_user, access.role, project_id, member_id)
    flash(f"{member.name} now owns “{access.project.name}”. You stay on as admin.", "success")
    return redirect(url_for("members.index", project_id=project_id))


@bp.post(PREFIX + "/invitations/<uuid:invitation_id>/cancel")
@login_required
def cancel_invitation(project_id: uuid.UUID, invitation_id: uuid.UUID):
    """Withdraw a pending invitation: its link stops working."""
    project_access(project_id, Role.ADMIN)
    email = invitations.cancel(current_user, project_id, invitation_id)
    flash(f"The invitation to {email} was withdrawn; its link no longer works.", "info")
    return redirect(url_for("members.index", project_id=project_id))


def _page(
    access: ProjectAccess,
    status: int = 200,
    *,
    add_form: AddMemberForm | None = None,
    error: str | None = None,
):
    project = access.project
    body = render_template(
        "members/index.html",
        project=project,
        access=access,
        can_manage=access.can(Role.ADMIN),
        is_owner=access.role is Role.OWNER,
        members=member_service.list_members(project.id),
        pending=invitations.pending_for_project(project.id),
        add_form=add_form or AddMemberForm(),
        role_choices=[role.value for role in member_service.GRANTABLE],
        error=error,
    )
    return body, status


def _unshared_note(names: list[str]) -> str:
    if not names:
        return ""
    return " These credentials were unshared from the project: " + ", ".join(names) + "."
