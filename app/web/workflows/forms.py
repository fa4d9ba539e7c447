"""Forms of the workflows list: name a workflow, import YAML, confirm a deletion, templates."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
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


class UseTemplateForm(FlaskForm):
    """The name of a workflow created from a template (the template's own fields, such as an
    API address and credentials, are read by the view from the template's list)."""

    name = StringField(
        "Name of the new workflow",
        validators=[DataRequired("Give the workflow a name."), Length(max=200)],
        description="You can rename it later.",
    )


class SaveAsTemplateForm(FlaskForm):
    """Save a workflow as a template for every project of the instance."""

    name = StringField(
        "Template name",
        validators=[DataRequired("Give the template a name."), Length(max=120)],
        description="Shown on every project's “Create workflow” page; one name per instance.",
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=2000)],
        description="What the workflow does and what to set before it runs "
        "(credentials are never saved with a template).",
    )
    sample = SelectField(
        "Sample input kept with the template",
        validate_choice=False,  # the service names a stale or crafted choice itself
        description="Given to the first step when someone presses Run on their copy. "
        "Credential values in it are masked.",
    )


class DeleteTemplateForm(FlaskForm):
    """Deleting a saved template only asks to confirm (the form carries the CSRF token)."""
