"""The Notifications tab of a project's settings: every member's own alert and digest
choices; for admins and owners also the project's alert settings, a test alert to
themselves, and the alert log."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import DigestFrequency, Role
from app.services.errors import Invalid
from app.services.notifications import alert_log, alert_settings, failure_alerts, preferences
from app.web.access import ProjectAccess, project_access
from app.web.notifications import unsubscribe_views  # noqa: F401 -- registers the link pages
from app.web.notifications.blueprint import bp
from app.web.notifications.forms import ConfirmForm, MyChoicesForm, ProjectAlertsForm

PREFIX = "/projects/<uuid:project_id>/settings/notifications"
WORKFLOW_FIELD = "workflow-"


@bp.get(PREFIX)
@login_required
def index(project_id: uuid.UUID):
    """The member's own choices and, for admins, the project's alert settings."""
    return _page(project_access(project_id))


@bp.post(PREFIX + "/mine")
@login_required
def update_mine(project_id: uuid.UUID):
    """Store the signed-in member's own choices (any role; never someone else's)."""
    access = project_access(project_id)
    form = MyChoicesForm()
    choices = {
        key.removeprefix(WORKFLOW_FIELD): value
        for key, value in request.form.items()
        if key.startswith(WORKFLOW_FIELD)
    }
    try:
        preferences.update_my_choices(
            current_user,
            project_id,
            failure_alerts=form.failure_alerts.data,
            digest=form.digest.data,
            digest_hour=form.digest_hour.data,
            change_notices=form.change_notices.data,
            workflow_choices=choices,
        )
    except Invalid as error:
        return _page(access, status=422, mine=form, mine_error=error, posted_choices=choices)
    flash("Your notification choices are saved.", "success")
    return redirect(url_for("notifications.index", project_id=project_id))


@bp.post(PREFIX + "/project")
@login_required
def update_project(project_id: uuid.UUID):
    """Store the project's alert settings (admins and owners)."""
    access = project_access(project_id, Role.ADMIN)
    form = ProjectAlertsForm()
    try:
        alert_settings.update(
            current_user,
            project_id,
            alert_settings.AlertSettings(
                limit_count=form.limit_count.data,
                limit_minutes=form.limit_minutes.data,
                include_logs=form.include_logs.data,
                webhook_url=form.webhook_url.data,
                webhook_secret=form.webhook_secret.data,
                remove_secret=form.remove_secret.data,
            ),
        )
    except Invalid as error:
        form.webhook_secret.data = ""  # never sent back to the browser
        field = getattr(form, error.field, None)
        if field is not None:
            field.errors = [error.message]
        return _page(access, status=422, project_form=form)
    # A warning about the URL shows under the field on the page, from the saved value.
    flash("The project's alert settings are saved.", "success")
    return redirect(url_for("notifications.index", project_id=project_id, _anchor="project"))


@bp.post(PREFIX + "/test")
@login_required
def send_test(project_id: uuid.UUID):
    """Send the signed-in admin a test alert (and the HTTP channel, when one is set)."""
    access = project_access(project_id, Role.ADMIN)
    try:
        failure_alerts.send_test_alert(access.project, current_user)
    except Invalid as error:
        flash(error.message, "danger")
    else:
        flash(f"Test alert sent to {current_user.email}. It shows in the log below.", "success")
    return redirect(url_for("notifications.log", project_id=project_id, kind="test"))


@bp.get(PREFIX + "/log")
@login_required
def log(project_id: uuid.UUID):
    """What alerts were sent to whom, held back by the rate limit, or failed (admins)."""
    access = project_access(project_id, Role.ADMIN)
    error = None
    try:
        page = alert_log.page(
            project_id,
            status=request.args.get("status"),
            kind=request.args.get("kind"),
            cursor=request.args.get("cursor"),
            limit=request.args.get("limit"),
        )
    except Invalid as problem:
        page, error = None, problem
    kept = {k: request.args[k] for k in ("status", "kind", "limit") if request.args.get(k)}
    html = render_template(
        "notifications/log.html",
        project=access.project,
        access=access,
        page=page,
        error=error,
        query=kept,
        statuses=alert_log.STATUSES,
        kinds=alert_log.KINDS,
        test_form=ConfirmForm(),
    )
    return html, 400 if error else 200


def _page(access: ProjectAccess, *, status: int = 200, **given):
    project = access.project
    mine = preferences.my_choices(project.id, current_user.id)
    form = given.get("mine")
    if form is None and mine is not None:
        member = mine.member
        form = MyChoicesForm(
            formdata=None,
            failure_alerts=member.failure_alerts,
            digest=member.digest.value,
            digest_hour=str(member.digest_hour),
            change_notices=member.workflow_change_notices,
        )
    project_form = given.get("project_form") or ProjectAlertsForm(
        formdata=None,
        limit_count=str(project.alert_limit_count),
        limit_minutes=str(project.alert_limit_minutes),
        include_logs=project.alert_include_logs,
        webhook_url=project.alert_webhook_url or "",
    )
    return render_template(
        "notifications/index.html",
        access=access,
        project=project,
        mine=mine,
        form=form or MyChoicesForm(formdata=None),
        mine_error=given.get("mine_error"),
        posted_choices=given.get("posted_choices") or {},
        project_form=project_form,
        secret_set=project.alert_webhook_secret_encrypted is not None,
        url_warnings=alert_settings.saved_warnings(project),
        frequencies=[f.value for f in DigestFrequency],
        zone=current_user.time_zone or "UTC",
        can_change=access.can(Role.ADMIN),
        test_form=ConfirmForm(),
        limits=(alert_settings.MIN_COUNT, alert_settings.MAX_COUNT, alert_settings.MAX_MINUTES),
    ), status
