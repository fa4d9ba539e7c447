"""Fixtures shared by the web tests."""

from __future__ import annotations

import pytest

from app.services import accounts


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
