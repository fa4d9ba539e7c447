"""Migration 0008 (templates, time format) keeps every user, writes their times in 24-hour
form, and refuses a time format Ferry does not know."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.support import database_url, recreate_database, redis_url


def test_upgrade_keeps_users_with_24_hour_times_and_adds_templates():
    from flask_migrate import upgrade

    url = database_url("migrate0008")
    recreate_database(url)
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    user = uuid.uuid4()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO users (id, email, name, session_nonce, time_zone, inserted_at,"
                    " updated_at) VALUES (:id, 'ana@example.org', 'Ana', 'n', 'Africa/Nairobi',"
                    " :at, :at)"
                ),
                {"id": user, "at": at},
            )
        upgrade()
        with db.engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT email, time_zone, time_format FROM users WHERE id = :id"),
                {"id": user},
            ).one()
            assert tuple(row) == ("ana@example.org", "Africa/Nairobi", "24h")
            assert (
                connection.execute(sa.text("SELECT count(*) FROM workflow_templates")).scalar() == 0
            )
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE users SET time_format = 'am/pm' WHERE id = :id"), {"id": user}
            )
        db.engine.dispose()
