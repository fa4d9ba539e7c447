"""Forms of the password reset and sign-up pages. Shape only: the password rules live in
app/services/passwords.py, so every page that sets a password refuses the same ones."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

CHOOSING_TIP = (
    "12 to 128 characters. A few unrelated words make a strong password that is easy to remember."
)


class ForgotPasswordForm(FlaskForm):
    """The email address to send a reset link to."""

    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=320)]
    )


class NewPasswordForm(FlaskForm):
    """A new password, typed twice."""

    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password.")],
        description=CHOOSING_TIP,
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords differ; type the same one twice."),
        ],
    )


class SignupForm(FlaskForm):
    """Name, email and password of a new account."""

    name = StringField("Your name", validators=[Length(max=200)])
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Choose a password.")], description=CHOOSING_TIP
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords differ; type the same one twice."),
        ],
    )
