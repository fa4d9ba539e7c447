"""Forms of the MFA pages: a code (sign-in and enrolment) and the password asked again before
MFA changes. Shape only; app.services.mfa decides whether a code or password is right."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.services.mfa import MAX_CODE_CHARS

TOO_LONG = f"That is too long for a code (at most {MAX_CODE_CHARS} characters)."


class SignInCodeForm(FlaskForm):
    """The second sign-in step: a 6-digit code or one of the backup codes."""

    code = StringField(
        "Authentication code",
        validators=[
            DataRequired("Enter the 6-digit code from your authenticator app."),
            Length(max=MAX_CODE_CHARS, message=TOO_LONG),
        ],
        description="The 6-digit code your authenticator app shows, or one of your backup codes.",
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"},
    )


class EnrolCodeForm(FlaskForm):
    """Enrolment: the code the app shows after scanning, proving it holds the secret."""

    code = StringField(
        "Code from the app",
        validators=[
            DataRequired("Enter the 6-digit code your app shows."),
            Length(max=MAX_CODE_CHARS, message=TOO_LONG),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class PasswordAgainForm(FlaskForm):
    """The password, asked again before backup codes are replaced or MFA is turned off."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
