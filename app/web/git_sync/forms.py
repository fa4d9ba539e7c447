"""The git connection form: its shape only; what a URL, branch or secret may be is decided by
app/services/git_sync/remotes.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Length

from app.services.git_sync.remotes import (
    AUTH_LABELS,
    MAX_BRANCH_LENGTH,
    MAX_SECRET_LENGTH,
    MAX_URL_LENGTH,
)


class RemoteForm(FlaskForm):
    """Where to sync and how Ferry signs in."""

    url = StringField(
        "Repository URL",
        validators=[Length(max=MAX_URL_LENGTH, message="The URL is too long.")],
        description="https://github.com/org/repo.git, ssh://git@host/org/repo.git or "
        "git@host:org/repo.git",
    )
    branch = StringField(
        "Branch",
        default="main",
        validators=[Length(max=MAX_BRANCH_LENGTH, message="The branch name is too long.")],
        description="Created by the first sync when the repository does not have it yet.",
    )
    auth_kind = SelectField(
        "Sign in with",
        choices=[SelectChoice(value, label) for value, label in AUTH_LABELS.items()],
        validate_choice=False,
    )
    secret = TextAreaField(
        "Deploy key or token",
        validators=[Length(max=MAX_SECRET_LENGTH, message="The secret is too long.")],
    )


class ChoiceForm(FlaskForm):
    """A button that posts one choice (a conflict's way out)."""

    choice = HiddenField()


class ButtonForm(FlaskForm):
    """A button that posts nothing but its CSRF token."""
