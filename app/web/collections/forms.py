"""Collection forms: their shape only; the rules live in app/services/collections/rules.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class CreateForm(FlaskForm):
    """A new collection's name."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the collection a name, e.g. patients-seen."),
            Length(max=100),
        ],
        description=(
            "Letters, digits, '.', '_' and '-'. Jobs use it: "
            'collections.get("patients-seen", key).'
        ),
    )


class DeleteForm(FlaskForm):
    """Typing the collection's name confirms its deletion."""

    confirm = StringField(
        "Type the collection's name to confirm",
        validators=[DataRequired("Type the collection's name to delete it.")],
    )


class RemoveEntryForm(FlaskForm):
    """The key of the entry to remove (the CSRF token comes with it)."""

    key = StringField("Key", validators=[DataRequired("Say which key to remove.")])
