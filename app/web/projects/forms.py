"""Project forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
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
