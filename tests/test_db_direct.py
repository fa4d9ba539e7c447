"""app.db_direct: the one raw-SQL helper tells a value PostgreSQL refuses (the caller's input,
permanent) from a database that cannot take the statement now (worth a retry)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import Uuid
from sqlalchemy.exc import IntegrityError

from app import create_app, db_direct
from app.config import Settings
from tests.support import redis_url


@pytest.fixture
def pooled(app):
    """An app context whose statements take pooled connections in autocommit (no test
    transaction), as a webhook request's do."""
    with app.app_context():
        yield
        from app.extensions import db

        db.session.remove()


@pytest.mark.parametrize(
    ("sql", "params", "says"),
    [
        ("SELECT CAST(:v AS jsonb)", {"v": '{"a": "\\u0000"}'}, "NUL character"),
        ("SELECT :v::text", {"v": "a\x00b"}, "NUL character"),
        ("SELECT CAST(:v AS jsonb)", {"v": '{"a": "\\ud800"}'}, "surrogate"),
        ("SELECT CAST(:v AS int)", {"v": "seven"}, "integer"),
        ("SELECT CAST(:v AS jsonb)", {"v": "[" * 200_000 + "]" * 200_000}, "nested too deeply"),
    ],
    ids=["jsonb-nul", "text-nul", "jsonb-surrogate", "not-an-integer", "jsonb-too-deep"],
)
def test_a_value_postgresql_refuses_is_unstorable_not_unavailable(pooled, sql, params, says):
    with pytest.raises(db_direct.UnstorableValue) as caught:
        db_direct.execute(sql, params)
    assert not isinstance(caught.value, db_direct.DatabaseUnavailable)
    assert says in caught.value.reason
    # The connection stays usable: the next statement on the pool works.
    assert db_direct.execute("SELECT 1", {}) == (1,)


def test_a_value_too_long_for_its_column_is_unstorable(db):
    db.session.execute(db.text("CREATE TEMP TABLE short_names (name varchar(5))"))
    with pytest.raises(db_direct.UnstorableValue) as caught:
        db_direct.execute("INSERT INTO short_names VALUES (:name)", {"name": "too long"})
    assert "too long" in caught.value.reason and "5" in caught.value.reason


def test_a_dropped_connection_is_unavailable_and_the_pool_recovers(pooled):
    with pytest.raises(db_direct.DatabaseUnavailable):
        db_direct.execute("SELECT pg_terminate_backend(pg_backend_pid())", {})
    assert db_direct.execute("SELECT 1", {}) == (1,)


def test_an_unreachable_server_is_unavailable(settings):
    broken = create_app(
        dataclasses.replace(
            settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        )
    )
    with broken.app_context(), pytest.raises(db_direct.DatabaseUnavailable):
        db_direct.execute("SELECT 1", {})


def test_a_duplicate_is_still_an_integrity_error(db):
    db.session.execute(db.text("CREATE TEMP TABLE keys (k int PRIMARY KEY)"))
    db_direct.execute("INSERT INTO keys VALUES (:k)", {"k": 1})
    with pytest.raises(IntegrityError):
        db_direct.execute("INSERT INTO keys VALUES (:k)", {"k": 1})


def test_the_demo_database_sqlite_runs_the_same_statements(tmp_path):
    demo = create_app(
        Settings(
            env="test", database_url=f"sqlite:///{tmp_path / 'demo.db'}", redis_url=redis_url()
        )
    )
    with demo.app_context():
        assert not db_direct.on_postgresql()
        ident = uuid.uuid4()
        row = db_direct.execute("SELECT :ident", {"ident": ident}, {"ident": Uuid()})
        assert uuid.UUID(str(row[0])) == ident
        db_direct.commit_joined()


def test_postgresql_is_recognised(pooled):
    assert db_direct.on_postgresql()
