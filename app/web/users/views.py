"""Superuser area: every user of the instance — search, invite, superuser rights, disable,
enable and delete. Everyone else gets 404, as if the pages did not exist."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from app.services import invitations, users
from app.services.deletions import jobs as deletion_jobs
from app.services.deletions import users as user_deletion
from app.services.errors import Conflict, Invalid
from app.web.access import superuser_only
from app.web.auth.session_start import rotate_session
from app.web.htmx import is_fragment_request, is_htmx_request, vary_on_htmx
from app.web.users.forms import DeleteUserForm, InviteForm

bp = Blueprint("users", __name__, url_prefix="/admin/users")


@bp.before_request
@login_required
def _superusers_only() -> None:
    """Every page here is for superusers; others get 404, as if it did not exist."""
    superuser_only()


@bp.get("/")
def index():
    """The users list, searched by email or name, a page at a time (or just its results)."""
    query, after, error = request.args.get("q", ""), request.args.get("after") or None, None
    try:
        page = users.search(query, after)
    except Invalid as problem:
        # Show the first page with the reason next to the search box: a 422 for browsers,
        # a 200 for htmx (which swaps in only 2xx answers).
        error, query, after = problem.message, "", None
        page = users.search()
    template = "users/_results.html" if is_fragment_request() else "users/index.html"
    status = 422 if error and not is_htmx_request() else 200
    html = render_template(template, page=page, query=query, after=after, error=error)
    return vary_on_htmx(make_response(html, status))


@bp.get("/<uuid:user_id>")
def show(user_id: uuid.UUID):
    """One user: their state, projects, credentials and the actions on them."""
    return _show(user_id)


@bp.get("/invite")
def new_invitation():
    """The form to invite someone to Ferry by email (they join no project yet)."""
    return render_template("users/invite.html", form=InviteForm())


@bp.post("/invite")
def invite():
    """Send the invitation mail."""
    form = InviteForm()
    if not form.validate_on_submit():
        return render_template("users/invite.html", form=form), 422
    try:
        invitation = invitations.invite(form.email.data, invited_by=current_user)
    except Invalid as error:
        form.email.errors = [error.message]
        return render_template("users/invite.html", form=form), 422
    flash(f"Invitation sent to {invitation.email}. The link works for 7 days.", "success")
    return redirect(url_for("users.index"))


@bp.post("/<uuid:user_id>/superuser")
def grant_superuser(user_id: uuid.UUID):
    """Make the user a superuser."""
    user = users.set_superuser(current_user, user_id, True)
    flash(f"{user.email} is now a superuser; they sign in again to use the new rights.", "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/<uuid:user_id>/superuser/revoke")
def revoke_superuser(user_id: uuid.UUID):
    """Take superuser rights away (never from the last active superuser)."""
    try:
        user = users.set_superuser(current_user, user_id, False)
    except Conflict as error:
        return _show(user_id, error.message, 409)
    flash(f"{user.email} is no longer a superuser.", "success")
    if user.id == current_user.id:
        # Fewer rights for the person at the keyboard: a fresh session, and away from
        # pages they may no longer open.
        rotate_session(current_user)
        return redirect(url_for("projects.index"))
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/<uuid:user_id>/disable")
def disable(user_id: uuid.UUID):
    """Disable the user: signed out everywhere at once, API tokens refused."""
    try:
        user = users.disable(current_user, user_id)
    except Conflict as error:
        return _show(user_id, error.message, 409)
    flash(f"{user.email} is disabled and signed out everywhere.", "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/<uuid:user_id>/mfa/reset")
def reset_mfa(user_id: uuid.UUID):
    """Turn off the user's two-factor authentication (lost authenticator and backup codes)."""
    try:
        user = users.reset_mfa(current_user, user_id)
    except Conflict as error:
        return _show(user_id, error.message, 409)
    flash(
        f"Two-factor authentication is off for {user.email}, and they are signed out "
        "everywhere. They sign in with their password and can set it up again.",
        "success",
    )
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/<uuid:user_id>/enable")
def enable(user_id: uuid.UUID):
    """Let a disabled user sign in again."""
    try:
        user = users.enable(current_user, user_id)
    except Conflict as error:
        return _show(user_id, error.message, 409)
    flash(f"{user.email} can sign in again.", "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.get("/<uuid:user_id>/delete")
def confirm_delete(user_id: uuid.UUID):
    """What deleting the user destroys, and the field to confirm it (or why it cannot be)."""
    return _confirm(user_id, DeleteUserForm())


@bp.post("/<uuid:user_id>/delete")
def delete(user_id: uuid.UUID):
    """Delete the user after their email was typed: stopped at once, purged after the grace
    period."""
    users.get_user(user_id)
    form = DeleteUserForm()
    if not form.validate_on_submit():
        return _confirm(user_id, form, status=422)
    try:
        user = user_deletion.request_deletion(current_user, user_id, form.confirm_email.data)
    except Invalid as error:
        form.confirm_email.errors = [error.message]
        return _confirm(user_id, form, status=422)
    except Conflict as error:
        return _confirm(user_id, form, error=error.message, status=409)
    if user.deletion_due_at == user.deletion_requested_at:  # no grace period
        message = f"{user.email} was deleted; their account and credentials are being removed."
    else:
        message = (
            f"{user.email} is signed out, disabled and their API tokens are revoked. Their "
            f"account and credentials are removed on {deletion_jobs.day(user.deletion_due_at)};"
            " until then you can cancel the deletion here."
        )
    flash(message, "success")
    return redirect(url_for("users.index"))


@bp.post("/<uuid:user_id>/deletion/cancel")
def cancel_deletion(user_id: uuid.UUID):
    """Keep a user whose deletion is pending (before its grace period ends)."""
    try:
        enabled = user_deletion.cancel_deletion(current_user, user_id)
    except Conflict as error:
        return _show(user_id, error.message, 409)
    user = users.get_user(user_id)
    state = "can sign in again" if enabled else "stays disabled, as before the deletion"
    flash(
        f"{user.email} is kept and {state}. Their API tokens stay revoked: they create new "
        "ones on their profile.",
        "success",
    )
    return redirect(url_for("users.show", user_id=user_id))


def _show(user_id: uuid.UUID, error: str | None = None, status: int = 200):
    detail = users.detail(user_id)
    html = render_template(
        "users/show.html",
        detail=detail,
        error=error,
        last_superuser=users.last_active_superuser(detail.user),
    )
    return html, status


def _confirm(user_id: uuid.UUID, form, *, error: str | None = None, status: int = 200):
    detail = users.detail(user_id)
    blocked = None
    if detail.user.id == current_user.id:
        blocked = "You cannot delete your own account; ask another superuser."
    elif detail.user.deletion_requested_at is not None:
        blocked = user_deletion.pending_message(detail.user)
    elif detail.owned_projects:
        blocked = users.owned_projects_message(detail.user, detail.owned_projects)
    html = render_template(
        "users/delete.html",
        detail=detail,
        form=form,
        error=error,
        blocked=blocked,
        purge_on=deletion_jobs.purge_date_if_deleted_now(),
    )
    return html, status
