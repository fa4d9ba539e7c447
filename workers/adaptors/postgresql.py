"""The postgresql adaptor: SQL statements, inserts and upserts against a PostgreSQL database.

Values are always bound parameters and table/column names are always composed with
`psycopg.compose.Identifier`, so neither can change the statement. Each operation opens one
connection, runs its statement(s) in one transaction and closes it. Rows come back as dicts
made JSON-ready: numeric as a string (no precision lost), dates and times as ISO 8601,
UUIDs as strings, bytea as base64, intervals as seconds.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql as compose
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from workers.adaptors.http_client import configuration
from workers.runtime import egress
from workers.runtime.errors import JobError, SecurityViolation
from workers.runtime.lazy import operation, resolve
from workers.runtime.logs import emit

Operation = Callable[[dict], dict]
CONNECT_TIMEOUT_S = 10
# PostgreSQL accepts at most 65535 bound parameters per statement; stay well below it.
MAX_PARAMS_PER_STATEMENT = 30000
LOGGED_SQL_CHARS = 160


def _connect(config: dict) -> psycopg.Connection:
    for field in ("host", "database", "user"):
        if not config.get(field):
            raise JobError(
                f"the PostgreSQL credential needs {field!r}",
                code="credential_missing_field",
                details={"field": field, "credential": "PostgreSQL"},
            )
    options: dict[str, Any] = {
        "host": config["host"],
        "port": int(config.get("port") or 5432),
        "dbname": config["database"],
        "user": config["user"],
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "ferry",
    }
    if config.get("password") is not None:
        options["password"] = str(config["password"])
    if config.get("ssl_mode"):
        options["sslmode"] = config["ssl_mode"]
    timeout = config.get("statement_timeout_ms")
    if timeout is not None:
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
            raise JobError(
                "statement_timeout_ms must be a whole number of milliseconds", code="bad_argument"
            )
        options["options"] = f"-c statement_timeout={timeout}"
    where = f"{config['host']}:{options['port']}/{config['database']}"
    # libpq opens its socket in C, out of the sandbox audit hook's sight: resolve and check
    # the address here and make libpq connect to exactly that address.
    try:
        options["hostaddr"] = egress.resolve_checked(str(config["host"]), options["port"])[0]
    except PermissionError as exc:
        raise SecurityViolation(str(exc)) from None
    try:
        return psycopg.connect(**options, row_factory=dict_row)
    except psycopg.Error as exc:
        raise JobError(
            f"could not connect to PostgreSQL at {where}: {exc}",
            code="database_unreachable",
            details={"host": str(config["host"]), "port": options["port"]},
        ) from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def _bindable(value: Any) -> Any:
    # Objects, and lists holding objects, go in as jsonb; plain lists as PostgreSQL arrays.
    if isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(item, dict | list) for item in value)
    ):
        return Jsonb(value)
    return value


def _run(state: dict, statements: Iterable[tuple[compose.Composable | str, Any]]) -> dict:
    """Run statements in one transaction; data is the rows (if any) or the row count."""
    config = configuration(state)
    rows: list[dict] = []
    rowcount, returned = 0, False
    try:
        with _connect(config) as conn, conn.cursor() as cursor:
            for statement, params in statements:
                text = statement if isinstance(statement, str) else statement.as_string(conn)
                started = time.monotonic()
                cursor.execute(statement, params)  # type: ignore[arg-type]
                elapsed = round((time.monotonic() - started) * 1000)
                if cursor.description is not None:
                    returned = True
                    rows.extend(_jsonable(row) for row in cursor.fetchall())
                rowcount += max(cursor.rowcount, 0)
                emit("info", "adaptor", f"{_short(text)} -> {cursor.rowcount} rows in {elapsed} ms")
    except psycopg.Error as exc:
        code = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
        message = exc.diag.message_primary or str(exc)
        emit("error", "adaptor", f"PostgreSQL error{code}: {message}")
        raise JobError(
            f"PostgreSQL error{code}: {message}",
            code="database_error",
            details={"sqlstate": exc.sqlstate or "", "said": message[:300]},
        ) from exc
    return {**state, "data": rows if returned else {"rowcount": rowcount}}


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= LOGGED_SQL_CHARS else flat[:LOGGED_SQL_CHARS] + "..."


def sql(query: Any, params: Any = None) -> Operation:
    """Run one SQL statement with bound parameters (%s or %(name)s placeholders)."""

    @operation
    def run(state: dict) -> dict:
        text, values = resolve(query, state), resolve(params, state)
        if not isinstance(text, str) or not text.strip():
            raise JobError("sql needs the statement as a string", code="bad_argument")
        if isinstance(values, dict):
            values = {key: _bindable(value) for key, value in values.items()}
        elif isinstance(values, list | tuple):
            values = [_bindable(value) for value in values]
        elif values is not None:
            raise JobError(
                "sql params must be a list (for %s) or an object (for %(name)s)",
                code="bad_argument",
            )
        return _run(state, [(text, values)])

    return run


def _table(name: Any) -> compose.Identifier:
    parts = name.split(".") if isinstance(name, str) else name
    if not isinstance(parts, list | tuple) or not parts:
        raise JobError(
            f"a table name must be a string or [schema, table], not {name!r}", code="bad_argument"
        )
    if not all(isinstance(part, str) and part for part in parts):
        raise JobError(f"{name!r} is not a table name", code="bad_argument")
    return compose.Identifier(*parts)


def _records(value: Any) -> list[dict]:
    records = [value] if isinstance(value, dict) else value
    if not isinstance(records, list) or not all(isinstance(r, dict) and r for r in records):
        raise JobError(
            "records must be an object or a list of objects with at least one field",
            code="bad_argument",
        )
    return records


def _names(value: Any, what: str) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if (
        not names
        or not isinstance(names, list | tuple)
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise JobError(
            f"{what} must be a column name or a list of column names", code="bad_argument"
        )
    return list(names)


def _ids(names: list[str]) -> compose.Composable:
    return compose.SQL(", ").join(map(compose.Identifier, names))


def _returning(value: Any) -> compose.Composable:
    if value is None:
        return compose.SQL("")
    if value == "*":
        return compose.SQL(" RETURNING *")
    return compose.SQL(" RETURNING ") + _ids(_names(value, "returning"))


Suffix = Callable[[list[str]], compose.Composable]


def _write(state: dict, table: Any, records: Any, returning: Any, suffix: Suffix) -> dict:
    """INSERT the records (in batches under the parameter limit) in one transaction."""
    target, rows = _table(table), _records(records)
    if not rows:
        emit("info", "adaptor", "no records: nothing to write")
        return {**state, "data": [] if returning is not None else {"rowcount": 0}}
    columns = list(dict.fromkeys(key for row in rows for key in row))
    batch = max(1, MAX_PARAMS_PER_STATEMENT // len(columns))
    ending = suffix(columns) + _returning(returning)
    statements = []
    for start in range(0, len(rows), batch):
        params: list = []
        tuples = []
        for row in rows[start : start + batch]:
            # A field a record lacks takes the column's DEFAULT rather than NULL.
            cells = [compose.Placeholder() if c in row else compose.DEFAULT for c in columns]
            params.extend(_bindable(row[c]) for c in columns if c in row)
            tuples.append(compose.SQL("({})").format(compose.SQL(", ").join(cells)))
        statement = compose.SQL("INSERT INTO {} ({}) VALUES {}").format(
            target, _ids(columns), compose.SQL(", ").join(tuples)
        )
        statements.append((statement + ending, params))
    return _run(state, statements)


def insert(table: Any, records: Any, returning: Any = None) -> Operation:
    """Insert one record or a list of records (fields are column names)."""

    @operation
    def run(state: dict) -> dict:
        return _write(
            state,
            resolve(table, state),
            resolve(records, state),
            resolve(returning, state),
            lambda _columns: compose.SQL(""),
        )

    return run


def upsert(table: Any, conflict_columns: Any, records: Any, returning: Any = None) -> Operation:
    """Insert records, updating the row whose `conflict_columns` match (a key a record lacks
    is then set to the column's default)."""

    @operation
    def run(state: dict) -> dict:
        keys = _names(resolve(conflict_columns, state), "conflict_columns")

        def on_conflict(columns: list[str]) -> compose.Composable:
            updated = [c for c in columns if c not in keys]
            if not updated:
                return compose.SQL(" ON CONFLICT ({}) DO NOTHING").format(_ids(keys))
            sets = compose.SQL(", ").join(
                compose.SQL("{0} = EXCLUDED.{0}").format(compose.Identifier(c)) for c in updated
            )
            return compose.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(_ids(keys), sets)

        return _write(
            state,
            resolve(table, state),
            resolve(records, state),
            resolve(returning, state),
            on_conflict,
        )

    return run


OPERATIONS: dict[str, Callable[..., Operation]] = {
    "sql": sql,
    "insert": insert,
    "upsert": upsert,
}
