"""The Git sync tab of a project's settings: the connection (admins change it), the last
sync's status (polled while one is pending), "Pull from git", "Test connection", and the
two ways out of a conflict. Syncs run in the background; these views only queue them.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import Invalid, NotFound
from app.services.git_sync import queueing, remotes
from app.services.git_sync.sync import conflict_of
from app.web.access import ProjectAccess, project_access
from app.web.git_sync.forms import ButtonForm, ChoiceForm, RemoteForm

bp = Blueprint("git_sync", __name__)
NOT_CONNECTED = "This project is not connected to git."
CHOICES = {"ours": queueing.KEEP_OURS, "theirs": queueing.TAKE_THEIRS}


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every git sync page needs a signed-in user."""


@bp.get("/projects/<uuid:project_id>/settings/git")
def show(project_id: uuid.UUID):
    """The connection, its status and any conflict waiting for a choice."""
    return _page(project_access(project_id))


@bp.get("/projects/<uuid:project_id>/settings/git/status")
def status(project_id: uuid.UUID):
    """The status card alone (it polls itself while a sync is pending)."""
    access = project_access(project_id)
    return render_template("git_sync/_status.html", **_context(access))


@bp.post("/projects/<uuid:project_id>/settings/git")
def save(project_id: uuid.UUID):
    """Connect the project to a remote, or change the connection (admins)."""
    access = project_access(project_id, Role.ADMIN)
    form = RemoteForm()
    if not form.validate_on_submit():
        return _page(access, form=form, status=422)
    try:
        remotes.connect(
            current_user,
            project_id,
            form.url.data,
            form.branch.data,
            form.auth_kind.data,
            form.secret.data,
        )
    except Invalid as error:
        target = form._fields.get(error.field, form.url)
        target.errors = [*target.errors, error.message]
        return _page(access, form=form, status=422)
    queueing.enqueue(project_id, current_user.id)
    flash("Git connection saved. Ferry is syncing the project now.", "success")
    return redirect(url_for("git_sync.show", project_id=project_id))


@bp.post("/projects/<uuid:project_id>/settings/git/test")
def test(project_id: uuid.UUID):
    """Reach the remote with the saved connection and say what was found (admins)."""
    project_access(project_id, Role.ADMIN)
    if not ButtonForm().validate_on_submit():
        flash("The form expired; try again.", "danger")
    else:
        try:
            flash(remotes.try_connection(project_id), "success")
        except (Invalid, NotFound) as error:
            flash(error.message, "danger")
    return redirect(url_for("git_sync.show", project_id=project_id))


@bp.post("/projects/<uuid:project_id>/settings/git/pull")
def pull(project_id: uuid.UUID):
    """Queue "Pull from git": git's new commits are brought in, Ferry's changes pushed."""
    project_access(project_id, Role.ADMIN)
    if remotes.get_remote(project_id) is None:
        flash(NOT_CONNECTED, "info")
    elif ButtonForm().validate_on_submit() and queueing.enqueue(project_id, current_user.id):
        flash("Pulling from git. The status below changes when it is done.", "success")
    else:
        flash("The pull could not be queued; try again in a moment.", "danger")
    return redirect(url_for("git_sync.show", project_id=project_id))


@bp.post("/projects/<uuid:project_id>/settings/git/resolve")
def resolve(project_id: uuid.UUID):
    """Keep Ferry's version (committed on top of git's) or take git's (applied)."""
    project_access(project_id, Role.ADMIN)
    remote = remotes.get_remote(project_id)
    form = ChoiceForm()
    mode = CHOICES.get(form.choice.data or "")
    if remote is None:
        flash(NOT_CONNECTED, "info")
    elif not form.validate_on_submit() or mode is None:
        flash("Choose Keep Ferry's or Take git's.", "danger")
    elif conflict_of(remote) is None:
        flash("There is no conflict to resolve any more.", "info")
    elif queueing.enqueue(project_id, current_user.id, mode):
        words = "Keeping Ferry's version" if mode == queueing.KEEP_OURS else "Taking git's version"
        flash(f"{words}. The status below changes when it is done.", "success")
    else:
        flash("The choice could not be queued; try again in a moment.", "danger")
    return redirect(url_for("git_sync.show", project_id=project_id))


@bp.post("/projects/<uuid:project_id>/settings/git/disconnect")
def disconnect(project_id: uuid.UUID):
    """Forget the remote and its secret; the repository is left as it is (admins)."""
    project_access(project_id, Role.ADMIN)
    if remotes.get_remote(project_id) is None:
        flash(NOT_CONNECTED, "info")
    elif ButtonForm().validate_on_submit():
        remotes.disconnect(current_user, project_id)
        flash("Git sync is off. The repository keeps everything pushed so far.", "success")
    return redirect(url_for("git_sync.show", project_id=project_id))


def _context(access: ProjectAccess) -> dict:
    remote = remotes.get_remote(access.project.id)
    return {
        "access": access,
        "project": access.project,
        "remote": remote,
        "conflict": conflict_of(remote) if remote else None,
        "can_change": access.can(Role.ADMIN),
        "button": ButtonForm(formdata=None),
        "choice": ChoiceForm(formdata=None),
        "auth_labels": remotes.AUTH_LABELS,
    }


def _page(access: ProjectAccess, *, form: RemoteForm | None = None, status: int = 200):
    context = _context(access)
    remote = context["remote"]
    if form is None:
        form = RemoteForm(formdata=None, obj=remote) if remote else RemoteForm(formdata=None)
    form.secret.data = ""  # write-only: never rendered back
    return render_template("git_sync/show.html", form=form, **context), status
