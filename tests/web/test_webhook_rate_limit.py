"""The per-trigger webhook rate limit (app/services/triggers/webhook_rate.py), counted in the
test Redis, through the fast path and the sub-path view: over the limit a request is a 429
with Retry-After and nothing is stored; each trigger has its own budget; requests that fail
the trigger's auth spend none of it; without the setting nothing is counted."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from app.models import WebhookAuth, WorkOrder
from app.services.triggers import webhook_auth, webhook_targets
from tests import factories

LIMIT = 3


@pytest.fixture
def limited(app, monkeypatch):
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], webhook_requests_per_minute=LIMIT)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)
    webhook_targets._CACHE.clear()


def trigger_of(user):
    return factories.workflow(factories.project(user)).triggers[0]


def work_orders(db) -> int:
    return db.session.scalar(select(func.count()).select_from(WorkOrder))


def test_over_the_limit_a_trigger_answers_429_and_stores_nothing(client, db, user, limited):
    trigger = trigger_of(user)
    for n in range(LIMIT):
        assert client.post(f"/i/{trigger.id}", json={"n": n}).status_code == 200
    stored = work_orders(db)
    for path in (f"/i/{trigger.id}", f"/i/{trigger.id}/patients"):  # fast path, sub-path view
        refused = client.post(path, json={"n": 99})
        assert refused.status_code == 429, path
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        body = refused.get_json()
        assert body["status"] == 429
        assert f"at most {LIMIT} requests a minute" in body["error"]
        assert "nothing was saved" in body["error"]
    assert work_orders(db) == stored


def test_each_trigger_has_its_own_budget(client, db, user, limited):
    busy, quiet = trigger_of(user), trigger_of(user)
    for n in range(LIMIT):
        client.post(f"/i/{busy.id}", json={"n": n})
    assert client.post(f"/i/{busy.id}", json={}).status_code == 429
    assert client.post(f"/i/{quiet.id}", json={}).status_code == 200


def test_requests_failing_the_triggers_auth_spend_none_of_its_budget(client, db, user, limited):
    trigger = trigger_of(user)
    key = webhook_auth.configure_webhook_auth(trigger.id, WebhookAuth.API_KEY)
    for _ in range(LIMIT + 2):
        assert client.post(f"/i/{trigger.id}", json={}).status_code == 401
    for n in range(LIMIT):
        reply = client.post(f"/i/{trigger.id}", json={"n": n}, headers={"x-api-key": key})
        assert reply.status_code == 200


def test_without_the_setting_nothing_is_counted(app, client, db, user):
    assert app.config["FERRY_SETTINGS"].webhook_requests_per_minute is None
    trigger = trigger_of(user)
    for n in range(LIMIT + 2):
        assert client.post(f"/i/{trigger.id}", json={"n": n}).status_code == 200


def test_a_triggers_own_limit_applies_without_the_setting_and_overrides_it(
    app, client, db, user, monkeypatch
):
    own = trigger_of(user)
    own.webhook_requests_per_minute = 2
    db.session.commit()
    webhook_targets._CACHE.clear()
    for n in range(2):
        assert client.post(f"/i/{own.id}", json={"n": n}).status_code == 200
    refused = client.post(f"/i/{own.id}", json={})
    assert refused.status_code == 429
    assert "at most 2 requests a minute" in refused.get_json()["error"]

    # Raised above the instance's limit: the trigger's own wins.
    roomy = trigger_of(user)
    roomy.webhook_requests_per_minute = LIMIT + 2
    db.session.commit()
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], webhook_requests_per_minute=LIMIT)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)
    for n in range(LIMIT + 2):
        assert client.post(f"/i/{roomy.id}", json={"n": n}).status_code == 200
    assert client.post(f"/i/{roomy.id}", json={}).status_code == 429


def test_a_changed_limit_is_used_at_once_by_a_process_that_kept_the_trigger(client, db, user):
    trigger = trigger_of(user)
    assert client.post(f"/i/{trigger.id}", json={}).status_code == 200  # found and kept
    trigger.webhook_requests_per_minute = 1
    db.session.commit()
    # The stored trigger's fingerprint changed: the kept one is replaced before storing, and
    # this request is the first the new limit counts.
    assert client.post(f"/i/{trigger.id}", json={}).status_code == 200
    assert client.post(f"/i/{trigger.id}", json={}).status_code == 429
