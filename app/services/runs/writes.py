"""How the run engine talks to the database: each write is one statement, sent as plain SQL.

A trivial run once cost about 28 round trips and 6 commits through the ORM, which bounded
a worker's throughput. Here a write (e.g. a step's output dataclip, its log lines, its step
row and the run's final state) is a list of parts, each one INSERT or UPDATE. On PostgreSQL
the parts are joined into one statement with data-modifying CTEs and sent in autocommit
mode: one round trip and one commit per write, and atomic, as any statement is. Elsewhere
(SQLite, the demo) the parts run one after another in one transaction.

On PostgreSQL the statement goes straight to psycopg (`app.db_direct`): SQLAlchemy's
statement building and the session's bookkeeping would cost more CPU than the database work
itself. Every write leaves the session without a connection or transaction, so whatever
runs next (an OAuth refresh locking its row) gets a real one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg.types.json import Jsonb
from sqlalchemy import DateTime, Uuid, bindparam, text

from app import db_direct
from app.extensions import JSONType, db
from app.json_text import JsonText
from app.services.runs import nul

# Parameter types by name: the same names mean the same thing in every statement here.
_UUID = Uuid()
_TIME = DateTime(timezone=True)
PARAM_TYPES = {
    "run_id": _UUID,
    "work_order_id": _UUID,
    "project_id": _UUID,
    "step_run_id": _UUID,
    "output_id": _UUID,
    "final_dataclip_id": _UUID,
    "begin_id": _UUID,
    "begin_step_id": _UUID,
    "begin_input_id": _UUID,
    "log_id": _UUID,
    "now": _TIME,
    "at": _TIME,
    "available_at": _TIME,
    "retry_at": _TIME,
    "body": JSONType,
    "logs": JSONType,
    "resume": JSONType,
}
_JSON_PARAMS = frozenset(name for name, kind in PARAM_TYPES.items() if kind is JSONType)


@dataclass(frozen=True)
class Part:
    """One INSERT or UPDATE of a write, with `:name` parameters.

    `rows` (one parameter dict per row) is for the portable path only: PostgreSQL inserts
    many rows with one INSERT ... SELECT instead."""

    sql: str
    params: dict
    rows: list[dict] | None = None


# The one dialect check (`app.db_direct`), under the name the run engine's modules use.
on_postgresql = db_direct.on_postgresql


def write(parts: Sequence[Part]) -> None:
    """Apply the parts atomically and durably: one statement on PostgreSQL. NUL characters
    in their values (which PostgreSQL refuses) are stored escaped: `app.services.runs.nul`."""
    if not parts:
        return
    parts = [nul.escaped_part(part, _JSON_PARAMS) for part in parts]
    if on_postgresql():
        params: dict = {}
        for part in parts:
            params.update(part.params)
        db_direct.execute(_joined(tuple(p.sql for p in parts)), _for_psycopg(params))
        db_direct.commit_joined()
        return
    try:
        for part in parts:
            db.session.execute(_typed(part.sql), part.rows or _parsed(part.params))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def fetch_one(sql: str, params: dict) -> tuple | None:
    """Run one statement, committed (PostgreSQL: in autocommit), and return its first row."""
    row = db_direct.execute(sql, params, PARAM_TYPES)
    db_direct.commit_joined()
    return row


def _for_psycopg(params: dict) -> dict:
    """JSON parameters wrapped for jsonb (psycopg sends other values as they are)."""
    return {k: _jsonb(v) if k in _JSON_PARAMS else v for k, v in params.items()}


def _parsed(params: dict) -> dict:
    # Off PostgreSQL (the demo's SQLite) a state kept as JSON text is bound as objects.
    return {k: v.parsed() if isinstance(v, JsonText) else v for k, v in params.items()}


def _jsonb(value: object) -> Jsonb:
    # A state kept as JSON text (app.json_text) is sent as its text: PostgreSQL parses it.
    return Jsonb(value, dumps=JsonText.joined) if isinstance(value, JsonText) else Jsonb(value)


@functools.cache
def _joined(sqls: tuple[str, ...]) -> str:
    """The parts as one statement: all but the last as CTEs (PostgreSQL runs every
    data-modifying CTE exactly once, referenced or not)."""
    if len(sqls) == 1:
        return sqls[0]
    ctes = ", ".join(f"part{n} AS ({sql})" for n, sql in enumerate(sqls[:-1]))
    return f"WITH {ctes} {sqls[-1]}"


@functools.cache
def _typed(sql: str):
    """A text statement whose known parameters are bound with their types (UUIDs, times and
    JSON are stored differently on each database)."""
    names = set(re.findall(r"(?<!:):(\w+)", sql)) & set(PARAM_TYPES)
    return text(sql).bindparams(*(bindparam(n, type_=PARAM_TYPES[n]) for n in sorted(names)))
