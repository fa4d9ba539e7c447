"""Fixtures: a real PostgreSQL test database (migrated once per session) and real Redis.

Each test runs inside a transaction that is rolled back at the end; services that commit
only release a savepoint, so tests stay isolated and fast.
"""

from __future__ import annotations

import pytest
from redis import Redis
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.config import Settings
from app.extensions import db as _db
from app.services import passwords
from tests import factories, shared_tls
from tests.support import RequestScopedClient, database_url, recreate_database, redis_url

# Before any test builds an httpx client: see tests/shared_tls.py (40 ms of CPU per client).
shared_tls.install()
# The cheapest argon2 parameters for the users tests create (the defaults cost 0.2 s of CPU a
# hash, about half of a typical page test). The processes tests start (the engine stack, the
# browser tests' server, CLI commands) keep the defaults; test_passwords checks both.
passwords.use_parameters(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at this worker's test database and Redis number."""
    return Settings(env="test", database_url=database_url("main"), redis_url=redis_url())


@pytest.fixture(scope="session")
def app(settings):
    """The app, with the test database created and migrated by the real migrations."""
    recreate_database(settings.database_url)
    application = create_app(settings)
    application.config.update(TESTING=True)
    application.test_client_class = RequestScopedClient
    from workers.cli import upgrade_database

    upgrade_database(application)
    Redis.from_url(settings.redis_url).flushdb()
    yield application
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def _no_failed_sign_ins_counted(request):
    """Each test that uses the app starts with no failed sign-ins counted: the limits live in
    Redis, which outlives a test's rolled-back transaction, and tests of one session would
    otherwise add up to a lockout (they all sign in from 127.0.0.1)."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        with app.app_context():
            app.extensions["ferry_limiter"].reset()


@pytest.fixture
def db(app):
    """The database session for one test, rolled back afterwards."""
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original = _db.session
        _db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    """A test client whose requests share the test's transaction."""
    return app.test_client()


@pytest.fixture
def user(db):
    """An ordinary user with a known password."""
    return factories.user()


@pytest.fixture
def project(user, db):
    """A project `user` owns (a test module may define its own)."""
    return factories.project(user, "Clinic intake")


@pytest.fixture
def flow(project):
    """A workflow in `project`, with a webhook trigger and steps (tests.history_factories)."""
    from tests import history_factories

    return history_factories.workflow(project, "Patient sync")


@pytest.fixture
def signed_in(client, user):
    """A client signed in as `user`."""
    from tests.support import log_in

    response = log_in(client, user.email, factories.PASSWORD)
    assert response.status_code == 302
    return client


def pytest_sessionfinish(session, exitstatus):
    """Drop the databases this test process created."""
    from tests.support import drop_created_databases

    drop_created_databases()
