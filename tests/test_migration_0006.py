"""Migration 0006 (people and project settings) upgrades a database made by the schema before
it (revision 0005, what `main` ran) without losing or changing a row, on PostgreSQL and on the
SQLite demo database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.support import database_url, recreate_database, redis_url

USER_ID, PROJECT_ID, MEMBER_ID, TOKEN_ID, AUDIT_ID = (uuid.uuid4() for _ in range(5))

# Rows as revision 0005 knew them: only the columns that existed then. Timestamps are given
# because the SQLite demo database has no now() for the server defaults (the app's ORM fills
# them in Python).
ROWS_BEFORE = [
    (
        "INSERT INTO users (id, email, name, password_hash, is_superuser, disabled, session_nonce,"
        " inserted_at, updated_at) VALUES (:id, 'amina@example.org', 'Amina', 'argon2-hash',"
        " true, false, 'nonce1', :at, :at)",
        {"id": USER_ID},
    ),
    (
        "INSERT INTO projects (id, name, description, egress_allowlist, inserted_at, updated_at)"
        " VALUES (:id, 'Clinic intake', 'Kept', :allow, :at, :at)",
        {"id": PROJECT_ID, "allow": '["10.1.2.3", "dhis2.lan"]'},
    ),
    (
        "INSERT INTO project_members (id, project_id, user_id, role, failure_alerts, digest,"
        " inserted_at) VALUES (:id, :project, :user, 'owner', true, 'never', :at)",
        {"id": MEMBER_ID, "project": PROJECT_ID, "user": USER_ID},
    ),
    (
        "INSERT INTO api_tokens (id, user_id, name, token_digest, prefix, inserted_at)"
        " VALUES (:id, :user, 'script', :digest, 'fry_abcdef', :at)",
        {"id": TOKEN_ID, "user": USER_ID, "digest": "d" * 64},
    ),
    (
        "INSERT INTO audit_events (id, actor_id, item_type, item_id, event, changes, inserted_at)"
        " VALUES (:id, :user, 'credential', :item, 'created', :changes, :at)",
        {"id": AUDIT_ID, "user": USER_ID, "item": uuid.uuid4(), "changes": '{"name": "x"}'},
    ),
]


def _ids(value: uuid.UUID, dialect: str) -> object:
    # SQLite stores SQLAlchemy's Uuid as 32 hex characters; PostgreSQL takes the UUID itself.
    return value.hex if dialect == "sqlite" else value


def _upgrade_with_rows(url: str) -> dict[str, object]:
    from flask_migrate import upgrade

    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    with app.app_context():
        upgrade(revision="0005")
        dialect = db.engine.dialect.name
        with db.engine.begin() as connection:
            for statement, values in ROWS_BEFORE:
                params = {
                    key: _ids(value, dialect) if isinstance(value, uuid.UUID) else value
                    for key, value in values.items()
                }
                params["at"] = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
                connection.execute(sa.text(statement), params)
        upgrade(revision="0006")
        with db.engine.connect() as connection:
            user = connection.execute(sa.text("SELECT * FROM users")).mappings().one()
            project = connection.execute(sa.text("SELECT * FROM projects")).mappings().one()
            member = connection.execute(sa.text("SELECT * FROM project_members")).mappings().one()
            token = connection.execute(sa.text("SELECT * FROM api_tokens")).mappings().one()
            entry = connection.execute(sa.text("SELECT * FROM audit_events")).mappings().one()
            revision = connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).scalar()
        db.engine.dispose()
    return {
        "user": dict(user),
        "project": dict(project),
        "member": dict(member),
        "token": dict(token),
        "entry": dict(entry),
        "revision": revision,
    }


def _check(after: dict[str, object]) -> None:
    assert after["revision"] == "0006"
    user, project = after["user"], after["project"]
    assert (user["email"], user["name"], user["password_hash"]) == (
        "amina@example.org",
        "Amina",
        "argon2-hash",
    )
    assert bool(user["is_superuser"]) and user["session_nonce"] == "nonce1"
    assert user["totp_confirmed_at"] is None and user["totp_last_counter"] is None
    assert (project["name"], project["description"]) == ("Clinic intake", "Kept")
    allow = project["egress_allowlist"]
    assert (allow if isinstance(allow, list) else __import__("json").loads(allow)) == [
        "10.1.2.3",
        "dhis2.lan",
    ]
    assert not project["require_mfa"] and project["deletion_requested_at"] is None
    assert after["member"]["role"] == "owner"
    assert after["token"]["name"] == "script" and after["token"]["token_digest"] == "d" * 64
    assert after["entry"]["event"] == "created" and after["entry"]["project_id"] is None


def test_upgrade_keeps_every_row_on_postgresql():
    url = database_url("migrate0006")
    recreate_database(url)
    _check(_upgrade_with_rows(url))


def test_upgrade_keeps_every_row_on_sqlite(tmp_path: Path):
    _check(_upgrade_with_rows(f"sqlite:///{tmp_path / 'demo.db'}"))


@pytest.mark.parametrize("table", ["invitations", "password_resets", "mfa_backup_codes"])
def test_new_tables_start_empty(tmp_path: Path, table: str):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    _upgrade_with_rows(url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0  # noqa: S608
    engine.dispose()
