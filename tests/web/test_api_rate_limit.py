"""The per-token API rate limit (app/web/api/rate_limit.py), counted in the test Redis: a call
over the limit is a 429 with Retry-After and changes nothing, other tokens go on, and with
the counters' Redis down the limit fails open."""

from __future__ import annotations

import dataclasses

import pytest

from app.services import api_tokens
from tests import factories
from tests.support import free_port

LIMIT = 3


@pytest.fixture
def limited(app, monkeypatch):
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], api_requests_per_minute=LIMIT)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)


def bearer(user) -> dict:
    _, token = api_tokens.create_token(user.id, "Script")
    return {"Authorization": f"Bearer {token}"}


def test_a_token_over_its_limit_gets_429_with_retry_after_and_nothing_changes(
    client, user, limited
):
    headers = bearer(user)
    for _ in range(LIMIT):
        assert client.get("/api/v1/projects", headers=headers).status_code == 200
    refused = client.post("/api/v1/projects", headers=headers, json={"name": "Over the limit"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.get_json()
    assert body["status"] == 429 and f"more than {LIMIT} calls in the last minute" in body["error"]
    listed = client.get("/api/v1/projects", headers=bearer(user)).get_json()
    assert "Over the limit" not in str(listed)


def test_each_token_has_its_own_budget_and_bad_tokens_do_not_spend_it(client, user, limited):
    first, second = bearer(user), bearer(factories.user())
    for _ in range(LIMIT + 2):
        assert (
            client.get("/api/v1/projects", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )
    for _ in range(LIMIT):
        assert client.get("/api/v1/projects", headers=first).status_code == 200
    assert client.get("/api/v1/projects", headers=first).status_code == 429
    assert client.get("/api/v1/projects", headers=second).status_code == 200


def test_with_the_counters_redis_down_calls_go_on(app, client, user, limited, caplog):
    from limits.storage import storage_from_string

    strategy = app.extensions["ferry_limiter"].limiter
    working = strategy.storage
    dead = f"redis://127.0.0.1:{free_port()}/0"
    strategy.storage = storage_from_string(dead, **app.config["RATELIMIT_STORAGE_OPTIONS"])
    try:
        headers = bearer(user)
        for _ in range(LIMIT + 1):
            assert client.get("/api/v1/projects", headers=headers).status_code == 200
    finally:
        strategy.storage = working
    assert "API rate limit not checked" in caplog.text
