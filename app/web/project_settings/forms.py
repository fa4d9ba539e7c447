"""Project settings forms: their shape only; what an allowlist entry may be is decided by
app/services/egress/allowlist.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.services.egress.allowlist import MAX_TEXT_LENGTH


class DetailsForm(FlaskForm):
    """The project's name and description."""

    name = StringField(
        "Name", validators=[DataRequired("Give the project a name."), Length(max=200)]
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=2000)],
        description="Optional. What this project connects, and who to ask about it.",
    )


class EgressForm(FlaskForm):
    """The egress allowlist, one entry a line."""

    egress_allowlist = TextAreaField(
        "Internal systems steps may reach",
        validators=[
            Length(max=MAX_TEXT_LENGTH, message="The allowlist is too long: use CIDR ranges.")
        ],
    )


class MfaForm(FlaskForm):
    """Whether members need two-factor authentication to open the project."""

    require_mfa = BooleanField("Require two-factor authentication for members")


class DeleteForm(FlaskForm):
    """Typing the project's name confirms its deletion."""

    confirm_name = StringField(
        "Type the project's name to confirm",
        validators=[DataRequired("Type the project's name to confirm.")],
    )
