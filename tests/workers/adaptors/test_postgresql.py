"""The postgresql adaptor against the real local PostgreSQL, in a database of its own."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support import database_url, postgresql_credential, recreate_database
from workers.adaptors import postgresql
from workers.runtime.errors import JobError
from workers.runtime.logs import LogLine, capture

INJECTION = "Robert'); DROP TABLE patients; --"


@pytest.fixture(scope="module")
def dsn():
    """A fresh database for these tests, dropped afterwards."""
    url = database_url("adaptors")
    recreate_database(url)
    yield url
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture
def db(dsn):
    """A direct connection to check what the adaptor stored, with fresh tables."""
    with psycopg.connect(
        make_url(dsn).set(drivername="postgresql").render_as_string(False)
    ) as conn:
        conn.autocommit = True
        conn.execute('DROP TABLE IF EXISTS patients, "we""ird tab", visits')
        conn.execute(
            "CREATE TABLE patients (id serial PRIMARY KEY, external_id text UNIQUE, "
            "name text NOT NULL, age int, tags text[], profile jsonb, "
            "score numeric(6,2), born date, seen_at timestamptz, status text DEFAULT 'new')"
        )
        conn.execute('CREATE TABLE "we""ird tab" ("co""l" text, "select" int)')
        yield conn


@pytest.fixture
def state(dsn):
    """A state with a credential for the test database."""
    return {"configuration": postgresql_credential(dsn), "data": {"name": INJECTION, "age": 41}}


def test_sql_select_returns_json_ready_rows(db, state):
    db.execute(
        "INSERT INTO patients (external_id, name, score, born, seen_at, profile) VALUES "
        "('e1', 'Ana', 12.50, '1990-05-01', '2024-01-02T03:04:05Z', '{\"a\": [1]}')"
    )
    query = "SELECT name, score, born, seen_at, profile, status FROM patients WHERE name = %(n)s"
    result = postgresql.sql(query, {"n": "Ana"})(state)
    (row,) = result["data"]
    assert row == {
        "name": "Ana",
        "score": "12.50",
        "born": "1990-05-01",
        "seen_at": row["seen_at"],
        "profile": {"a": [1]},
        "status": "new",
    }
    assert row["seen_at"].startswith("2024-01-02T")
    assert postgresql.sql("SELECT %s::int + 1 AS n", [41])(state)["data"] == [{"n": 42}]


def test_sql_without_rows_gives_rowcount_and_binds_injection_literally(db, state):
    postgresql.sql(
        "INSERT INTO patients (name, age) VALUES (%s, %s), ('Bo', 2)",
        [lambda s: s["data"]["name"], lambda s: s["data"]["age"]],
    )(state)
    result = postgresql.sql("UPDATE patients SET age = age + 1 WHERE age > %s", [0])(state)
    assert result["data"] == {"rowcount": 2}
    assert db.execute("SELECT name, age FROM patients ORDER BY id").fetchall() == [
        (INJECTION, 42),
        ("Bo", 3),
    ]


def test_insert_one_and_many_with_returning_defaults_and_json(db, state):
    one = postgresql.insert("patients", {"name": lambda s: s["data"]["name"]}, returning="*")(state)
    assert one["data"][0]["name"] == INJECTION
    assert one["data"][0]["status"] == "new"

    many = postgresql.insert(
        "public.patients",
        [
            {"name": "A", "tags": ["x", "y"], "profile": {"k": "v"}},
            {"name": "B", "status": "seen"},
        ],
        returning=["id", "status"],
    )(state)
    assert [row["status"] for row in many["data"]] == ["new", "seen"]
    stored = db.execute("SELECT tags, profile FROM patients WHERE name = 'A'").fetchone()
    assert stored == (["x", "y"], {"k": "v"})
    assert postgresql.insert("patients", {"name": "C"})(state)["data"] == {"rowcount": 1}


def test_identifiers_with_quotes_are_quoted_not_interpreted(db, state):
    records = [{'co"l': INJECTION, "select": 1}, {'co"l': "'; --", "select": 2}]
    result = postgresql.insert('we"ird tab', records, returning=['co"l'])(state)
    assert result["data"] == [{'co"l': INJECTION}, {'co"l': "'; --"}]
    assert db.execute('SELECT "co""l", "select" FROM "we""ird tab" ORDER BY 2').fetchall() == [
        (INJECTION, 1),
        ("'; --", 2),
    ]
    with pytest.raises(JobError, match="does not exist"):
        postgresql.insert("patients; DROP TABLE visits", {"name": "x"})(state)
    assert db.execute("SELECT count(*) FROM patients").fetchone() == (0,)


def test_upsert_inserts_then_updates_on_conflict(db, state):
    upsert = postgresql.upsert(
        "patients", ["external_id"], [{"external_id": "e1", "name": "Ana", "age": 1}]
    )
    assert upsert(state)["data"] == {"rowcount": 1}
    changed = postgresql.upsert(
        "patients",
        "external_id",
        [{"external_id": "e1", "name": "Ana B", "age": 2}, {"external_id": "e2", "name": "Bo"}],
        returning=["external_id", "name"],
    )(state)
    assert changed["data"] == [
        {"external_id": "e1", "name": "Ana B"},
        {"external_id": "e2", "name": "Bo"},
    ]
    assert db.execute("SELECT count(*), max(age) FROM patients").fetchone() == (2, 2)
    nothing = postgresql.upsert("patients", ["external_id"], {"external_id": "e1"})
    with pytest.raises(JobError, match="null value in column"):
        nothing(state)  # DO NOTHING only applies on conflict; a fresh row still needs name


def test_errors_roll_back_the_whole_operation(db, state):
    records = [{"name": "fine"}, {"name": None}]
    with pytest.raises(JobError, match=r"PostgreSQL error \(SQLSTATE 23502\)"):
        postgresql.insert("patients", records)(state)
    assert db.execute("SELECT count(*) FROM patients").fetchone() == (0,)
    with pytest.raises(JobError, match="syntax error"):
        postgresql.sql("SELEC 1")(state)


def test_logs_one_line_per_statement_without_values(db, state):
    lines: list[LogLine] = []
    with capture(lines.append):
        postgresql.sql("SELECT %(secret)s AS s", {"secret": "hunter2"})(state)
        postgresql.insert("patients", [{"name": "hunter3"}, {"name": "x"}])(state)
    messages = [line.message for line in lines]
    assert len(messages) == 2
    assert messages[0].startswith("SELECT %(secret)s AS s -> 1 rows in ")
    assert messages[1].startswith('INSERT INTO "patients" ("name") VALUES (%s), (%s) -> 2 rows')
    assert not any("hunter" in message for message in messages)


def test_statement_timeout_and_connection_errors(db, state):
    slow = {**state, "configuration": {**state["configuration"], "statement_timeout_ms": 100}}
    with pytest.raises(JobError, match="canceling statement due to statement timeout"):
        postgresql.sql("SELECT pg_sleep(2)")(slow)
    wrong = {**state, "configuration": {**state["configuration"], "database": "no_such_db_x"}}
    with pytest.raises(JobError, match=r"could not connect to PostgreSQL at .*/no_such_db_x"):
        postgresql.sql("SELECT 1")(wrong)
    with pytest.raises(JobError, match="needs 'host'"):
        postgresql.sql("SELECT 1")({"configuration": {"database": "x", "user": "y"}})


def test_bad_arguments_are_clear_errors_and_no_records_is_no_write(state):
    assert postgresql.insert("patients", [])(state)["data"] == {"rowcount": 0}
    assert postgresql.upsert("patients", "id", [], returning="*")(state)["data"] == []
    with pytest.raises(JobError, match="records must be"):
        postgresql.insert("patients", [{}])(state)
    with pytest.raises(JobError, match="sql params must be"):
        postgresql.sql("SELECT 1", "x")(state)
    with pytest.raises(JobError, match="conflict_columns must be"):
        postgresql.upsert("patients", [], {"name": "x"})(state)
