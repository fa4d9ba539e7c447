"""Credential forms with a fixed shape; the schema-driven body fields are parsed by
app/services/credential_forms.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class CredentialForm(FlaskForm):
    """Name and production flag of a credential (its body fields come from the schema)."""

    name = StringField(
        "Name",
        validators=[DataRequired("Give the credential a name."), Length(max=200)],
        description="How steps and people will recognise it, e.g. “DHIS2 production”.",
    )
    production = BooleanField(
        "Production system",
        description="Marks it wherever it is picked, so nobody uses it for a test by mistake.",
    )


class ProjectCredentialForm(CredentialForm):
    """A credential created from a project's pages: shared into that project unless unticked."""

    share = BooleanField(
        "Share it into this project",
        default=True,
        description="Editors and admins of the project can then pick it in steps; "
        "they never see its secrets.",
    )


class ShareForm(FlaskForm):
    """The project to share a credential into."""

    project_id = SelectField("Project", validators=[DataRequired("Choose a project.")])


class TransferForm(FlaskForm):
    """The person to hand the credential to."""

    email = EmailField(
        "Recipient's email",
        validators=[DataRequired("Enter the recipient's email address."), Length(max=320)],
        description="They must already be a member of every project it is shared into.",
    )


class DeleteForm(FlaskForm):
    """Typing the name confirms a deletion."""

    confirm_name = StringField(
        "Type the credential's name to confirm",
        validators=[DataRequired("Type the credential's name to confirm.")],
    )
