"""Ferry's web application: `create_app` wires settings, extensions and blueprints.

This package's own import stays free of Flask and SQLAlchemy: the sandbox imports its pure
modules (`app.scrub`, `app.egress_rules`) and must stay small, because every step forks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from flask import Flask

    from app.config import Settings


def create_app(config: Settings | Mapping[str, object] | None = None) -> Flask:
    """Build the Flask app (see `app.factory.build_app`)."""
    from app.factory import build_app

    return build_app(config)
