"""Sandbox forms: their shape only; names and merges are checked by app/services/sandboxes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length


class CloneForm(FlaskForm):
    """The new sandbox's name (the parent's name + " sandbox" when left empty)."""

    name = StringField(
        "Sandbox name",
        validators=[Length(max=200, message="The name is too long: at most 200 characters.")],
    )


class MergeForm(FlaskForm):
    """A merge as reviewed: the plan's fingerprint and the acknowledgement of replaced
    parent changes (the workflows to delete arrive as repeated `delete` values)."""

    fingerprint = HiddenField(validators=[DataRequired("Review the merge before applying it.")])
    understand = BooleanField("I understand the parent's changes listed above will be replaced")
