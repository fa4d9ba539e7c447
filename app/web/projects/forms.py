"""Project forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class ProjectForm(FlaskForm):
    """Name and description of a project."""

    name = StringField(
        "Name",
        validators=[DataRequired("Give the project a name."), Length(max=200)],
        description="For example: Child protection case sync",
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=2000)],
        description="Optional. What this project connects, and who to ask about it.",
    )


class OpenFnImportForm(FlaskForm):
    """An OpenFn Lightning project.yaml, pasted or uploaded (the view reads whichever came)."""

    document = TextAreaField(
        "Lightning project.yaml",
        description="Paste the project.yaml that OpenFn Lightning exports "
        "(Project settings → Export project), or upload the file below.",
    )
    upload = FileField("Or upload the file", description="A .yaml or .yml file.")
