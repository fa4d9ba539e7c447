"""Hot-path SQL sent straight to psycopg, in autocommit, on a connection from the pool.

The webhook accept path and the run engine's writes are a few fixed statements each. Sent
through the ORM session, the session's bookkeeping around them (checking a connection out
with autocommit options, an empty commit, closing) cost a fifth of their CPU, and
SQLAlchemy's statement handling about as much again. Here a statement takes a connection
straight from the engine's pool (so `db_ping` and pool limits still apply), runs in
autocommit (each statement is atomic on its own; a transaction would add BEGIN and COMMIT
round trips) and gives the connection back. psycopg prepares repeated statements itself.

PostgreSQL only: callers keep a portable path through the session for SQLite (the demo).
Errors are raised as SQLAlchemy's, so callers handle one family of exceptions.
"""

from __future__ import annotations

import functools
import re

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import db


def execute(sql: str, params: dict) -> tuple | None:
    """Run one `:name`-style statement and return its first row, if it returns rows."""
    session = db.session()
    if session.in_transaction() or isinstance(session.bind, Connection):
        # The caller has a transaction open, or the session is bound to an outer
        # transaction (the tests'): the statement runs in that transaction.
        return _run(session.connection().connection, sql, params, restore_autocommit=None)
    try:
        pooled = db.engine.raw_connection()
    except DBAPIError:
        raise
    except psycopg.Error as error:  # the server cannot be reached
        raise DBAPIError(sql, params, error) from error
    try:
        driver = pooled.driver_connection
        was_autocommit = driver.autocommit
        driver.autocommit = True
        return _run(pooled, sql, params, restore_autocommit=was_autocommit)
    finally:
        pooled.close()  # back to the pool


def commit_joined() -> None:
    """Commit the session's transaction, if there is one: a statement above joined it (or
    the caller's portable path, through the session, opened it)."""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


def _run(pooled, sql: str, params: dict, restore_autocommit: bool | None) -> tuple | None:
    driver = pooled.driver_connection
    try:
        with driver.cursor() as cursor:
            cursor.execute(psycopg_style(sql), params)
            return cursor.fetchone() if cursor.description else None
    except psycopg.IntegrityError as error:
        raise IntegrityError(sql, params, error) from error
    except psycopg.OperationalError as error:
        pooled.invalidate(error)  # the pool must not hand this connection out again
        raise DBAPIError(sql, params, error) from error
    except psycopg.Error as error:
        raise DBAPIError(sql, params, error) from error
    finally:
        if restore_autocommit is not None and not driver.closed:
            driver.autocommit = restore_autocommit  # the pool's next user expects its mode


@functools.cache
def psycopg_style(sql: str) -> str:
    """`:name` parameters (not `::type` casts) as psycopg's `%(name)s`."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
