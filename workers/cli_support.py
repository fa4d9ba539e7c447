"""What every `ferry` command module shares: building the app, failing with one clear line,
and upgrading the database. Kept apart from `workers.cli` so that the command modules it
gathers (and `ferry run`) need not import it back."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps

import click

from app.config import INSTANCE_DIR, ConfigError, Settings
from app.services.errors import ServiceError
from app.services.startup import StartupError


def fails_cleanly(command: Callable) -> Callable:
    """Turn configuration and start-up problems into one line on stderr and exit code 2."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (ConfigError, StartupError) as error:
            click.echo(f"ferry: {error}", err=True)
            sys.exit(2)
        except ServiceError as error:
            click.echo(f"ferry: {error.message}", err=True)
            sys.exit(1)

    return wrapper


def settings_from_env() -> Settings:
    """The settings from the environment (a ConfigError names a bad variable)."""
    return Settings.from_env()


def build_app(settings: Settings | None = None):
    """The Flask app for a command; a SQLite database gets its instance folder first."""
    from app import create_app

    settings = settings or settings_from_env()
    if settings.database_url.startswith("sqlite"):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return create_app(settings)


def upgrade_database(app) -> None:
    """Apply every Alembic migration not yet applied."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
