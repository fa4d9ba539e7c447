"""The Alembic migrations build exactly the schema the models describe, from one head."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app import create_app
from app.config import PROJECT_ROOT, Settings
from app.extensions import db
from tests.support import database_url, recreate_database, redis_url
from workers.cli import upgrade_database


def _script_directory() -> ScriptDirectory:
    config = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(config)


def test_there_is_a_single_head():
    assert len(_script_directory().get_heads()) == 1


def test_upgrade_from_empty_matches_the_models_on_postgresql():
    url = database_url("migrations")
    recreate_database(url)
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    upgrade_database(app)
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
        head = context.get_current_revision()
        db.engine.dispose()
    assert differences == []
    assert head == _script_directory().get_current_head()


def test_upgrade_works_on_sqlite_for_the_demo(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    upgrade_database(app)
    upgrade_database(app)  # running it again changes nothing and does not fail
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert set(db.metadata.tables) <= tables


def test_the_newest_migration_downgrades_and_upgrades_again_on_sqlite(tmp_path: Path):
    from flask_migrate import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    upgrade_database(app)
    with app.app_context():
        downgrade(revision="0006")
        assert "alert_log" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        assert {"alert_log", "digest_sends"} <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_the_newest_migration_downgrades_and_upgrades_again_on_postgresql():
    from flask_migrate import downgrade, upgrade

    url = database_url("downgrade")
    recreate_database(url)
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    upgrade_database(app)
    with app.app_context():
        downgrade(revision="0006")
        assert "alert_log" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()
