"""Project settings forms: their shape only; what an allowlist entry may be is decided by
app/services/egress/allowlist.py, what a project.yaml may hold by app/services/project_code."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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


_A_NUMBER = Length(max=40, message="Give a whole number, or leave it empty for the default.")


class LimitsForm(FlaskForm):
    """The project's run limits: text, so that what was typed comes back with the error; the
    numbers and their maxima are checked by app/services/project_limits.py."""

    run_timeout_s = StringField("Run time limit", validators=[_A_NUMBER])
    step_memory_mb = StringField("Memory per step", validators=[_A_NUMBER])
    max_payload_kb = StringField("Largest accepted payload", validators=[_A_NUMBER])
    discard_logs = BooleanField("Do not keep print/log output")


class DeleteForm(FlaskForm):
    """Typing the project's name confirms its deletion."""

    confirm_name = StringField(
        "Type the project's name to confirm",
        validators=[DataRequired("Type the project's name to confirm.")],
    )


# A project.yaml of a few dozen workflows is well under this.
MAX_DOCUMENT_LENGTH = 2_000_000


class ProjectCodeForm(FlaskForm):
    """A project.yaml to apply, pasted or uploaded (an upload wins)."""

    document = TextAreaField(
        "Paste a project.yaml",
        validators=[
            Length(max=MAX_DOCUMENT_LENGTH, message="The document is too long for a project.")
        ],
        description="Workflows left out of the document are left as they are; an entry with "
        "delete: true deletes one.",
    )
    upload = FileField("Or upload the file", description="A .yaml or .yml file.")
