"""Fixtures shared by the web tests."""

from __future__ import annotations

import pytest

from app.models import Role
from app.services import accounts
from tests import factories
from tests.support import log_in


@pytest.fixture
def api(client, user):
    """A client sending the user's bearer token."""
    token = accounts.create_api_token(user.email)

    class Api:
        def __getattr__(self, method):
            def call(url, **kwargs):
                headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
                return getattr(client, method)(f"/api/v1{url}", headers=headers, **kwargs)

            return call

    return Api()


@pytest.fixture
def team(app, db, user, project):
    """Signed-in clients of `project` by role ("owner" is `user`), each made when a test
    first asks for it (a sign-in hashes a password); `team.people[role]` is the person."""

    class Team(dict):
        people: dict = {}

        def __missing__(self, role: str):
            person = user
            if role != "owner":
                person = factories.user()
                factories.member(project, person, Role(role))
            self.people[role] = person
            client = app.test_client()
            assert log_in(client, person.email, factories.PASSWORD).status_code == 302
            self[role] = client
            return client

    return Team()


@pytest.fixture
def root(db):
    """A superuser."""
    return factories.user(superuser=True, email="root@example.org")


@pytest.fixture
def admin_client(app, root):
    """A client signed in as the superuser `root`."""
    client = app.test_client()
    assert log_in(client, root.email, factories.PASSWORD).status_code == 302
    return client
