"""Member and invitation forms: their shape only; the rules live in app/services/members.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

ROLE_CHOICES = [
    SelectChoice("viewer", "Viewer"),
    SelectChoice("editor", "Editor"),
    SelectChoice("admin", "Admin"),
]


class AddMemberForm(FlaskForm):
    """Who to add, and as what."""

    email = EmailField(
        "Email",
        validators=[DataRequired("Enter the person's email address."), Length(max=320)],
        description="Someone without an account gets an emailed invitation, valid for 7 days.",
    )
    # validate_choice off: the service names the allowed roles in its own message.
    role = SelectField(
        "Role",
        choices=ROLE_CHOICES,
        default="viewer",
        validate_choice=False,
        description="What each role may do is listed below.",
    )


class RoleForm(FlaskForm):
    """A member's new role."""

    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)


class AcceptInvitationForm(FlaskForm):
    """What the invited person chooses: their name and a password."""

    name = StringField(
        "Your name",
        validators=[Length(max=200)],
        description="How colleagues will see you in Ferry.",
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password."), Length(max=128)],
        description="12 to 128 characters.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
