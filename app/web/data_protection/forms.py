"""Data protection forms: their shape only; which periods are allowed, and that bodies are
never kept longer than history, is decided by app/services/retention/policy.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.fields import SelectChoice

from app.services.retention.policy import CHOICES, label

_OPTIONS = [SelectChoice("forever" if days is None else str(days), label(days)) for days in CHOICES]


class RetentionForm(FlaskForm):
    """How long history and dataclip bodies are kept."""

    # validate_choice off: the service names the allowed periods in its message.
    history_retention_days = SelectField(
        "Keep history (work orders, runs, steps and logs) for",
        choices=_OPTIONS,
        validate_choice=False,
    )
    dataclip_retention_days = SelectField(
        "Keep inputs and outputs (dataclip bodies) for",
        choices=_OPTIONS,
        validate_choice=False,
    )

    @classmethod
    def of(cls, project) -> RetentionForm:
        """The form showing the project's saved policy."""
        return cls(
            formdata=None,
            history_retention_days=_value(project.history_retention_days),
            dataclip_retention_days=_value(project.dataclip_retention_days),
        )


def _value(days: int | None) -> str:
    return "forever" if days is None else str(days)


class ZeroPersistenceForm(FlaskForm):
    """Turn zero persistence on (with the consequences acknowledged) or off."""

    # "on" or "off"; anything else is refused by the view with a sentence.
    enabled = HiddenField()
    understood = BooleanField(
        "I understand: inputs and outputs of new runs are never stored, log output is "
        "dropped, and what needs a stored input is refused."
    )
