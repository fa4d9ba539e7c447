"""Migration 0007 (alerts and digests) keeps every member and gives viewers and editors the
new default of failure alerts off, while admins and owners keep them on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.support import database_url, recreate_database, redis_url


def test_upgrade_keeps_members_and_sets_the_new_alert_defaults():
    from flask_migrate import upgrade

    url = database_url("migrate0007")
    recreate_database(url)
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    project = uuid.uuid4()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    roles = ["viewer", "editor", "admin", "owner"]
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO projects (id, name, description, egress_allowlist, inserted_at,"
                    " updated_at) VALUES (:id, 'P', '', '[]', :at, :at)"
                ),
                {"id": project, "at": at},
            )
            for role in roles:
                user = uuid.uuid4()
                connection.execute(
                    sa.text(
                        "INSERT INTO users (id, email, name, session_nonce, inserted_at,"
                        " updated_at) VALUES (:id, :email, '', 'n', :at, :at)"
                    ),
                    {"id": user, "email": f"{role}@example.org", "at": at},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO project_members (id, project_id, user_id, role,"
                        " failure_alerts, digest, inserted_at)"
                        " VALUES (:id, :project, :user, :role, true, 'weekly', :at)"
                    ),
                    {"id": uuid.uuid4(), "project": project, "user": user, "role": role, "at": at},
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT role, failure_alerts, digest, digest_hour, workflow_change_notices"
                    " FROM project_members"
                )
            ).all()
            zones = connection.execute(sa.text("SELECT DISTINCT time_zone FROM users")).all()
        db.engine.dispose()
    alerts = {role: on for role, on, *_ in rows}
    assert alerts == {"viewer": False, "editor": False, "admin": True, "owner": True}
    assert {(digest, hour, notices) for _, _, digest, hour, notices in rows} == {
        ("weekly", 7, False)
    }
    assert zones == [("UTC",)]
