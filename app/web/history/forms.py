"""History forms: their shape only. The filter fields an export carries are read by the
history filter code (`services.history.filters`), which words its own messages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField


class ExportForm(FlaskForm):
    """Ask for an export of the history the page shows (its filter travels as hidden fields)."""

    include_dataclips = BooleanField("Include dataclips (the data each step received and produced)")
