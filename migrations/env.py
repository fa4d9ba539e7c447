"""Alembic environment: migrates the database of the Flask app that invoked it.

Run through `ferry db upgrade` (or Flask-Migrate's commands), so `current_app` is Ferry's app
and its engine points at DATABASE_URL.
"""

import logging

from alembic import context
from flask import current_app

import app.models  # noqa: F401 -- registers every table on the metadata

log = logging.getLogger("alembic.env")
database = current_app.extensions["migrate"].db


def _skip_empty_autogenerate(context_, revision, directives):
    """Write no revision file when autogenerate finds nothing to change."""
    autogenerate = getattr(context.config.cmd_opts, "autogenerate", False)
    if autogenerate and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in schema detected.")


def run_online() -> None:
    engine = database.engine
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=database.metadata,
            compare_type=True,
            # SQLite cannot ALTER most things; batch mode recreates tables instead.
            render_as_batch=engine.dialect.name == "sqlite",
            process_revision_directives=_skip_empty_autogenerate,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Ferry runs migrations online only: use `ferry db upgrade`.")
run_online()
