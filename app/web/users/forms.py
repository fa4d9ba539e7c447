"""Forms of the superuser users area: inviting someone, confirming a deletion."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length


class InviteForm(FlaskForm):
    """The email address of the person to invite."""

    email = EmailField(
        "Email",
        validators=[DataRequired("Enter the email address to invite."), Length(max=320)],
        description="They get a link to choose a password; it works once and for 7 days.",
    )


class DeleteUserForm(FlaskForm):
    """Typing the user's email confirms their deletion."""

    confirm_email = StringField(
        "Type the user's email address to confirm",
        validators=[DataRequired("Type the user's email address to delete them."), Length(max=320)],
    )
