"""Forms of the workflows list: name a workflow, import YAML, confirm a deletion."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class WorkflowNameForm(FlaskForm):
    """The name of a new or renamed workflow."""

    name = StringField(
        "Name",
        validators=[DataRequired("Give the workflow a name."), Length(max=200)],
        description="What it does, in plain words: for example “Patient sync to DHIS2”.",
    )


class ImportForm(FlaskForm):
    """A workflow document pasted as YAML or JSON."""

    document = TextAreaField(
        "Workflow YAML",
        validators=[DataRequired("Paste a workflow document (YAML or JSON) first.")],
        description="The format of “Export YAML”: name, triggers, jobs and edges.",
    )


class DeleteForm(FlaskForm):
    """Deleting asks to type the workflow's name."""

    confirm = StringField("Type the workflow's name to confirm", validators=[DataRequired()])
