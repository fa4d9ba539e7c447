"""Notifications forms: their shape only. Every value is judged by the services in
app/services/notifications/, which word the messages; these forms carry the CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField


class MyChoicesForm(FlaskForm):
    """A member's own choices (the per-workflow choices are `workflow-<id>` fields)."""

    failure_alerts = BooleanField("Email me when a run of this project fails")
    digest = StringField("Digest")
    digest_hour = StringField("At")
    change_notices = BooleanField("Email me when someone changes a workflow")


class ProjectAlertsForm(FlaskForm):
    """The project's alert settings (admins)."""

    limit_count = StringField("At most")
    limit_minutes = StringField("alerts per workflow and person every")
    include_logs = BooleanField("Include the last 20 log lines of the failed run")
    webhook_url = StringField("HTTP channel URL")
    webhook_secret = PasswordField("Signing secret")
    remove_secret = BooleanField("Remove the stored secret")


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (send a test alert, turn alerts off)."""
