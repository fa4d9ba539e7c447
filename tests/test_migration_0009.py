"""Migration 0009 (version messages, sandboxes, git remotes) keeps every project and saved
version as it was, and refuses an auth kind or sync status Ferry does not know."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.support import database_url, recreate_database, redis_url


def test_upgrade_keeps_projects_and_versions_and_adds_git_remotes():
    from flask_migrate import upgrade

    url = database_url("migrate0009")
    recreate_database(url)
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    project, workflow, snapshot = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO projects (id, name, description, egress_allowlist, inserted_at,"
                    " updated_at) VALUES (:id, 'Clinic sync', 'd', '[]', :at, :at)"
                ),
                {"id": project, "at": at},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO workflows (id, project_id, name, lock_version, positions,"
                    " inserted_at, updated_at) VALUES (:id, :project, 'Intake', 1, '{}', :at, :at)"
                ),
                {"id": workflow, "project": project, "at": at},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO workflow_snapshots (id, workflow_id, lock_version, definition,"
                    ' inserted_at) VALUES (:id, :workflow, 1, \'{"name": "Intake"}\', :at)'
                ),
                {"id": snapshot, "workflow": workflow, "at": at},
            )
        upgrade()
        with db.engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT name, parent_id, cloned_at, sandbox_base FROM projects")
            ).one()
            assert tuple(row) == ("Clinic sync", None, None, None)
            row = connection.execute(
                sa.text(
                    "SELECT lock_version, definition->>'name', message, restored_from_version"
                    " FROM workflow_snapshots"
                )
            ).one()
            assert tuple(row) == (1, "Intake", None, None)
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO project_git_remotes (project_id, url) VALUES (:p, 'file:///r')"
                ),
                {"p": project},
            )
            row = connection.execute(
                sa.text("SELECT branch, auth_kind, status FROM project_git_remotes")
            ).one()
            assert tuple(row) == ("main", "none", "never")
        for statement in (
            "UPDATE project_git_remotes SET auth_kind = 'password'",
            "UPDATE project_git_remotes SET status = 'fine'",
        ):
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(sa.text(statement))
        db.engine.dispose()
