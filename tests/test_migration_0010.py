"""Migration 0010 (engine round two) keeps every project, workflow, step, trigger and run as
it was, gives them the defaults that mean "as before", and refuses unknown signature
algorithms and non-positive limits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.support import database_url, recreate_database, redis_url


def test_upgrade_keeps_rows_and_adds_engine_columns_and_collections():
    from flask_migrate import upgrade

    url = database_url("migrate0010")
    recreate_database(url)
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    project, workflow, step, trigger = (uuid.uuid4() for _ in range(4))
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0009")
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
                    "INSERT INTO steps (id, workflow_id, key, name, adaptor, body, inserted_at,"
                    " updated_at) VALUES (:id, :w, 'fetch', 'Fetch', 'http@1', 'x', :at, :at)"
                ),
                {"id": step, "w": workflow, "at": at},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO triggers (id, workflow_id, key, type, inserted_at, updated_at)"
                    " VALUES (:id, :w, 'hook', 'webhook', :at, :at)"
                ),
                {"id": trigger, "w": workflow, "at": at},
            )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(
                sa.text(
                    "SELECT name, run_timeout_s, step_memory_mb, max_payload_kb, discard_logs"
                    " FROM projects"
                )
            ).one() == ("Clinic sync", None, None, None, False)
            assert connection.execute(
                sa.text("SELECT name, retry_policy FROM workflows")
            ).one() == ("Intake", None)
            assert connection.execute(sa.text("SELECT body, retry_policy FROM steps")).one() == (
                "x",
                None,
            )
            assert connection.execute(
                sa.text(
                    "SELECT key, webhook_signature_algorithm, webhook_replay_window_s FROM triggers"
                )
            ).one() == ("hook", None, 300)
        with db.engine.begin() as connection:
            collection = uuid.uuid4()
            connection.execute(
                sa.text("INSERT INTO collections (id, project_id, name) VALUES (:id, :p, 'c')"),
                {"id": collection, "p": project},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO collection_items (collection_id, key, value)"
                    " VALUES (:c, 'a-1', '{}')"
                ),
                {"c": collection},
            )
        for statement in (
            "UPDATE triggers SET webhook_signature_algorithm = 'md5'",
            "UPDATE triggers SET webhook_replay_window_s = 0",
            "UPDATE projects SET run_timeout_s = 0",
            "UPDATE projects SET max_payload_kb = -1",
        ):
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(sa.text(statement))
        db.engine.dispose()
