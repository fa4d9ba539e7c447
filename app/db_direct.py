"""Hot-path SQL sent straight to psycopg, in autocommit, on a connection from the pool.

The webhook accept path and the run engine's writes are a few fixed statements each. Sent
through the ORM session, the session's bookkeeping around them (checking a connection out
with autocommit options, an empty commit, closing) cost a fifth of their CPU, and
SQLAlchemy's statement handling about as much again. Here a statement takes a connection
straight from the engine's pool (so `db_ping` and pool limits still apply), runs in
autocommit (each statement is atomic on its own; a transaction would add BEGIN and COMMIT
round trips) and gives the connection back. psycopg prepares repeated statements itself.

Elsewhere (SQLite, the demo) the same statement runs through the session, its parameters
bound with the types the caller names; `commit_joined` commits it. This is the one place
that asks which database Ferry runs on.

Errors are raised as SQLAlchemy's, so callers handle one family of exceptions, sorted by
what the caller should do (SQLSTATE): `UnstorableValue` when PostgreSQL refuses a value the
statement carried (the caller's input: retrying cannot help), `DatabaseUnavailable` when
the database cannot take the statement now (unreachable, restarting, out of connections:
the only case worth a retry), `IntegrityError` for constraints, and SQLAlchemy's usual
class for anything else (a bug in Ferry).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, bindparam, text
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.types import TypeEngine

from app.extensions import db


class DatabaseUnavailable(OperationalError):
    """The database cannot take the statement now (it cannot be reached, is restarting, has
    no free connection, or broke the statement off): nothing was saved; retry later."""


class UnstorableValue(DataError):
    """PostgreSQL refused a value the statement carried (SQLSTATE class 22, or 54 for a
    value too deeply nested): nothing was saved, and sending it again cannot help.
    `reason` says what was wrong in words fit for whoever sent the value."""

    @property
    def reason(self) -> str:
        """What was wrong, e.g. "a NUL character (\\u0000), which Ferry cannot store"."""
        return _reason(self.orig)


def on_postgresql() -> bool:
    """True when the database is PostgreSQL (the direct path needs it)."""
    return db.engine.dialect.name == "postgresql"


def execute(sql: str, params: dict, types: Mapping[str, TypeEngine] | None = None) -> tuple | None:
    """Run one `:name`-style statement and return its first row, if it returns rows.

    `types` names the parameters that need a type to be bound (UUIDs, times, JSON) where
    the statement runs through the session; on PostgreSQL, JSON ones are sent as jsonb.
    A statement's parameter types must be the same on every call (they are cached by SQL).
    """
    if not on_postgresql():
        return _through_session(sql, params, types)
    psycopg_sql, json_names = _plan(sql, types)
    if json_names:
        params = {k: Jsonb(v) if k in json_names else v for k, v in params.items()}
    session = _session_in_use()
    if session is not None:
        # The caller has a transaction open, or the session is bound to an outer
        # transaction (the tests'): the statement runs in that transaction.
        joined = _connect(lambda: session.connection().connection, sql, params)
        try:
            return _run(joined, psycopg_sql, params, None)
        except DBAPIError:
            with contextlib.suppress(SQLAlchemyError):
                session.rollback()  # PostgreSQL refuses every later statement of it anyway
            raise
    pooled = _connect(db.engine.raw_connection, sql, params)
    try:
        driver = pooled.driver_connection
        was_autocommit = driver.autocommit
        driver.autocommit = True
        return _run(pooled, psycopg_sql, params, restore_autocommit=was_autocommit)
    finally:
        pooled.close()  # back to the pool


def _session_in_use():
    """The session a statement must join: one with a transaction open, or one bound to an
    outer transaction (the tests'). None otherwise, without creating a session for the
    request (making one and removing it at teardown cost as much as the check)."""
    scoped = db.session
    bound = scoped.session_factory.kw.get("bind")
    if not scoped.registry.has() and not isinstance(bound, Connection):
        return None
    session = scoped()
    if session.in_transaction() or isinstance(session.bind, Connection):
        return session
    return None


def commit_joined() -> None:
    """Commit the session's transaction, if there is one: a statement above joined it (or
    ran through the session, off PostgreSQL)."""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


def _connect(connection: Callable, sql: str, params: dict):
    """`connection()`, or DatabaseUnavailable: the server is unreachable or the pool is
    exhausted."""
    try:
        return connection()
    except (DBAPIError, PoolTimeout) as error:
        raise DatabaseUnavailable(sql, params, getattr(error, "orig", None) or error) from error
    except psycopg.Error as error:
        raise DatabaseUnavailable(sql, params, error) from error


def _run(pooled, sql: str, params: dict, restore_autocommit: bool | None) -> tuple | None:
    driver = pooled.driver_connection
    try:
        with driver.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description else None
    except psycopg.Error as error:
        wrapped = classify(sql, params, error)
        if isinstance(wrapped, DatabaseUnavailable):
            pooled.invalidate(error)  # the pool must not hand this connection out again
        raise wrapped from error
    finally:
        if restore_autocommit is not None and not driver.closed:
            driver.autocommit = restore_autocommit  # the pool's next user expects its mode


# SQLSTATE classes (or codes) of a database that cannot take the statement now:
# connection exceptions, insufficient resources (too many connections, disk full),
# operator intervention (shutdown, restart, cancelled), system errors (I/O), a transaction
# rolled back by a deadlock or serialization failure, a lock not granted in time.
_UNAVAILABLE = ("08", "53", "57", "58", "40", "55P03")
# Data exceptions, and program limits a value can hit (54001: nested too deeply).
_UNSTORABLE = ("22", "54")


def classify(sql: str, params: dict, error: psycopg.Error) -> DBAPIError:
    """The SQLAlchemy exception that says what `error` means for the caller."""
    state = error.sqlstate or ""
    if isinstance(error, psycopg.IntegrityError):
        return IntegrityError(sql, params, error)
    if state.startswith(_UNSTORABLE) or (not state and isinstance(error, psycopg.DataError)):
        return UnstorableValue(sql, params, error)  # no SQLSTATE: psycopg refused a NUL
    if state.startswith(_UNAVAILABLE) or (
        not state and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    ):
        return DatabaseUnavailable(sql, params, error)  # no SQLSTATE: the connection broke
    return DBAPIError.instance(sql, params, error, psycopg.Error)


# What PostgreSQL's refusals mean, in words for a sender. PostgreSQL's own message is
# added only for SQLSTATEs whose message describes the value itself.
_REASONS = {
    "22021": "a NUL character (\\u0000), which Ferry cannot store",
    "22P05": "a NUL character (\\u0000), which Ferry cannot store",
    "22001": "a value too long for its field",
    "22P02": "a value not valid for its type",
    "22003": "a number out of range",
    "54001": "JSON nested too deeply",
    "54000": "a value too large to store",
}
_DESCRIBES_THE_VALUE = ("22001", "22P02", "22003", "22007", "22008")


def _reason(error: BaseException) -> str:
    state = getattr(error, "sqlstate", None) or ""
    if not state and "NUL" in str(error):  # psycopg refuses NUL before sending
        state = "22021"
    reason = _REASONS.get(state, "a value the database cannot store")
    diag = getattr(error, "diag", None)
    if state in _DESCRIBES_THE_VALUE and diag is not None and diag.message_primary:
        said = ": ".join(filter(None, (diag.message_primary, diag.message_detail)))
        reason = f"{reason} ({said.rstrip('.')})"
    return reason


_PLANS: dict[str, tuple[str, frozenset[str]]] = {}
_STATEMENTS: dict[str, object] = {}


def _plan(sql: str, types: Mapping[str, TypeEngine] | None) -> tuple[str, frozenset[str]]:
    """The statement in psycopg's `%(name)s` style, and its JSON parameters (cached)."""
    plan = _PLANS.get(sql)
    if plan is None:
        json_names = frozenset(n for n, t in (types or {}).items() if isinstance(t, JSON))
        plan = _PLANS.setdefault(sql, (psycopg_style(sql), json_names))
    return plan


def _through_session(sql: str, params: dict, types: Mapping[str, TypeEngine] | None):
    statement = _STATEMENTS.get(sql)
    if statement is None:
        names = set(re.findall(r"(?<!:):(\w+)", sql)) & set(types or {})
        typed = text(sql).bindparams(*(bindparam(n, type_=types[n]) for n in sorted(names)))
        statement = _STATEMENTS.setdefault(sql, typed)
    try:
        result = db.session.execute(statement, params)
        return result.first() if result.returns_rows else None
    except BaseException:
        db.session.rollback()
        raise


def psycopg_style(sql: str) -> str:
    """`:name` parameters (not `::type` casts) as psycopg's `%(name)s`."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
