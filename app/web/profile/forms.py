"""Profile forms: changing the password, creating an API token, and the bare forms (CSRF
token only) behind the revoke and sign-out-everywhere buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import DateInput

from app.services.api_tokens import NAME_MAX


class PasswordForm(FlaskForm):
    """The current password and the new one (its rules are checked by services.passwords)."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password.")],
        description="12 to 128 characters; a few unrelated words make a strong one.",
    )


class TokenForm(FlaskForm):
    """A name to recognise the token by, and an optional last day it works."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the token a name, e.g. the script or system that will use it."),
            Length(max=NAME_MAX, message=f"The name must be at most {NAME_MAX} characters long."),
        ],
        description="What will use it, e.g. “Nightly DHIS2 export”.",
    )
    # Read as text and checked by services.api_tokens, which says what to fix.
    expires_on = StringField(
        "Expires after",
        widget=DateInput(),
        description="The last day it works (UTC). Leave empty for a token that does not expire.",
    )


class ConfirmForm(FlaskForm):
    """A button's form: the CSRF token only."""
