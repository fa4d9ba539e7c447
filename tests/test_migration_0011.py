"""The audit trail is append-only in the database (migration 0011), not only through the ORM:
UPDATE, DELETE and TRUNCATE sent as plain SQL are refused on PostgreSQL and on the SQLite
demo. A deleted user's entries lose their actor, and on PostgreSQL the purge function removes
expired entries in batches; nothing else changes an entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.config import Settings
from app.extensions import db as _db
from app.models import AuditEvent
from app.services import audit
from tests import factories
from tests.support import redis_url
from workers.cli import upgrade_database

REFUSALS = [
    "UPDATE audit_events SET event = 'nothing_happened'",
    "UPDATE audit_events SET changes = '{}'",
    "UPDATE audit_events SET actor_id = NULL, event = 'nothing_happened'",
    "DELETE FROM audit_events",
]


def entry(actor_id, event: str, at: datetime | None = None) -> uuid.UUID:
    recorded = audit.record("project", uuid.uuid4(), event, actor_id, {"name": ["a", "b"]})
    if at is not None:
        recorded.inserted_at = at
    _db.session.flush()
    return recorded.id


def refused(statement: str, **params) -> str:
    """The database's message when `statement` is sent, inside a savepoint."""
    with pytest.raises(DBAPIError) as error, _db.session.begin_nested():
        _db.session.execute(sa.text(statement), params)
    return str(error.value.orig)


@pytest.mark.parametrize("statement", [*REFUSALS, "TRUNCATE audit_events"])
def test_postgresql_refuses_every_change_sent_as_sql(db, user, statement):
    entry(user.id, "project_renamed")
    assert "audit_events is append-only" in refused(statement)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) >= 1


def test_a_deleted_users_entries_stay_without_their_actor(db, user):
    kept = entry(user.id, "project_renamed")
    _db.session.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user.id})
    _db.session.expire_all()
    row = _db.session.get(AuditEvent, kept)
    assert row.actor_id is None and row.event == "project_renamed"


def test_the_purge_function_removes_expired_entries_in_batches_and_nothing_newer(db, user):
    now = datetime.now(UTC)
    old = [entry(user.id, f"old_{n}", now - timedelta(days=400 + n)) for n in range(3)]
    recent = entry(user.id, "recent", now - timedelta(days=1))
    cutoff = now - timedelta(days=365)
    purge = sa.text("SELECT ferry_purge_audit_events(:before, :batch)")
    assert _db.session.scalar(purge, {"before": cutoff, "batch": 2}) == 2
    assert _db.session.scalar(purge, {"before": cutoff, "batch": 2}) == 1
    assert _db.session.scalar(purge, {"before": cutoff, "batch": 2}) == 0
    left = set(_db.session.scalars(sa.select(AuditEvent.id)))
    assert recent in left and not left & set(old)
    # Outside the function the same DELETE is still refused.
    assert "append-only" in refused("DELETE FROM audit_events WHERE id = :id", id=recent)


def test_the_sqlite_demo_refuses_them_too(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    upgrade_database(app)
    with app.app_context():
        person = factories.user()
        kept = entry(person.id, "project_renamed")
        _db.session.commit()
        for statement in REFUSALS:
            assert "audit_events is append-only" in refused(statement)
        _db.session.execute(sa.text("UPDATE audit_events SET actor_id = NULL"))
        _db.session.commit()
        row = _db.session.get(AuditEvent, kept)
        assert row.actor_id is None and row.event == "project_renamed"
        _db.session.remove()
        _db.engine.dispose()
