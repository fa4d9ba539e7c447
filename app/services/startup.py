"""Checks made before a long-running process starts, each failing with one clear sentence."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError


class StartupError(Exception):
    """Ferry cannot start; the message says what is wrong and what to do."""


def require_database(database_url: str) -> None:
    """Raise StartupError unless the database at `database_url` answers a query."""
    url = make_url(database_url)
    connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()
        raise StartupError(
            f"cannot reach the database at {url.render_as_string(hide_password=True)}: "
            f"{reason[0] if reason else type(error).__name__}. "
            "Check DATABASE_URL and that the database server is running."
        ) from None
    finally:
        engine.dispose()
