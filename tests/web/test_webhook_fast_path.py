"""`POST /i/<trigger>` is answered before Flask (`app.web.webhooks.fast_path`) from a target
each process keeps in memory: the answer must be the one Flask's view gives, and a kept
target must never let a request through under a trigger's old settings."""

from __future__ import annotations

import pytest
from flask import jsonify
from sqlalchemy import func, select

from app.models import Project, Run, WebhookAuth, WorkflowSnapshot, WorkOrder
from app.services.triggers import webhook_auth, webhook_signature_settings, webhook_targets
from app.services.workflows import store
from app.web.webhooks.fast_path import WebhookFastPath
from tests import factories


@pytest.fixture
def hook(user, db):
    """A saved workflow with a webhook trigger, posted to once so its target is kept."""
    project = factories.project(user)
    workflow = factories.workflow(project)
    trigger = workflow.triggers[0]
    webhook_targets._CACHE.clear()
    assert _post(db.session, trigger.id)[0] == 200
    assert str(trigger.id) in webhook_targets._CACHE
    return project, workflow, trigger


def _post(session, trigger_id, client=None, **kwargs):
    from flask import current_app

    client = client or current_app.test_client()
    response = client.post(f"/i/{trigger_id}", json={"n": 1}, **kwargs)
    return response.status_code, response.get_json()


def _work_orders(db) -> int:
    return db.session.scalar(select(func.count()).select_from(WorkOrder))


def test_the_app_answers_webhooks_through_the_fast_path(app):
    assert isinstance(app.wsgi_app, WebhookFastPath)


def test_the_answer_has_the_same_body_and_headers_as_flasks(client, hook, db):
    _, _, trigger = hook
    response = client.post(f"/i/{trigger.id}", json={"n": 2})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == {"work_order_id", "run_id"}
    assert response.data == jsonify(body).get_data()  # byte for byte what Flask writes
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"].endswith("; report-uri /csp-report")
    # No session, sign-in or CSRF machinery ran: no cookie is set, nothing varies by cookie.
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers
    # A sub-path is Flask's view: the same security headers and JSON errors.
    refused = client.post(f"/i/{trigger.id}/a/../b", json={})
    assert refused.status_code == 400 and refused.headers["X-Frame-Options"] == "DENY"


def test_errors_from_the_fast_path_are_json_with_a_sentence(client, db):
    response = client.post("/i/nothing-here", data="{", content_type="application/json")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "No webhook trigger exists at this address.",
        "status": 404,
    }


def test_a_trigger_disabled_after_it_was_kept_refuses_and_stores_nothing(client, hook, db):
    _, _, trigger = hook
    trigger.enabled = False
    db.session.commit()
    before = _work_orders(db)
    status, body = _post(db.session, trigger.id, client)
    assert status == 403 and "disabled" in body["error"]
    assert _work_orders(db) == before


def test_a_repeated_idempotency_key_is_refused_once_the_trigger_is_disabled(client, hook, db):
    _, _, trigger = hook
    headers = {"Idempotency-Key": "visit-1"}
    first = _post(db.session, trigger.id, client, headers=headers)
    assert first[0] == 200 and _post(db.session, trigger.id, client, headers=headers) == first
    trigger.enabled = False
    db.session.commit()
    status, body = _post(db.session, trigger.id, client, headers=headers)
    assert status == 403 and "disabled" in body["error"]


def test_a_new_api_key_works_at_once_and_the_old_one_stops(client, hook, db):
    _, _, trigger = hook
    old = webhook_auth.configure_webhook_auth(trigger.id, WebhookAuth.API_KEY)
    assert _post(db.session, trigger.id, client, headers={"x-api-key": old})[0] == 200
    new = webhook_auth.configure_webhook_auth(trigger.id, WebhookAuth.API_KEY)
    assert new != old
    assert _post(db.session, trigger.id, client, headers={"x-api-key": new})[0] == 200
    assert _post(db.session, trigger.id, client, headers={"x-api-key": old})[0] == 404


def test_auth_turned_on_after_the_target_was_kept_is_required(client, hook, db):
    _, _, trigger = hook
    webhook_auth.configure_webhook_auth(trigger.id, WebhookAuth.API_KEY)
    before = _work_orders(db)
    status, body = _post(db.session, trigger.id, client)
    assert status == 401 and "x-api-key" in body["error"]
    assert _work_orders(db) == before


def test_a_run_uses_the_version_saved_after_the_target_was_kept(client, hook, db):
    _, workflow, trigger = hook
    source = factories.SIMPLE_WORKFLOW.format(name=workflow.name).replace("seen", "seen_again")
    assert "seen_again" in source, "the factory's job body changed: update this test"
    kept = webhook_targets._CACHE[str(trigger.id)].snapshot_id
    store.replace_workflow(workflow.id, source)
    latest = db.session.scalar(
        select(WorkflowSnapshot.id)
        .where(WorkflowSnapshot.workflow_id == workflow.id)
        .order_by(WorkflowSnapshot.lock_version.desc())
        .limit(1)
    )
    assert latest != kept
    status, body = _post(db.session, trigger.id, client)
    assert status == 200
    assert db.session.get(Run, body["run_id"]).snapshot_id == latest


def test_a_deleted_workflow_answers_404_and_stores_nothing(client, hook, db):
    project, workflow, trigger = hook
    store.delete_workflow(workflow.id, project.id)
    before = _work_orders(db)
    assert _post(db.session, trigger.id, client)[0] == 404
    assert _work_orders(db) == before


def test_a_lowered_payload_limit_applies_at_once(client, hook, db):
    project, _, trigger = hook
    db.session.get(Project, project.id).max_payload_kb = 1
    db.session.commit()
    before = _work_orders(db)
    response = client.post(f"/i/{trigger.id}", json={"text": "x" * 4000})
    assert response.status_code == 413
    assert "this project accepts at most 1 KB" in response.get_json()["error"]
    assert _work_orders(db) == before


def test_a_custom_path_moved_to_another_trigger_reaches_the_new_one(client, user, db):
    project = factories.project(user)
    with_path = factories.SIMPLE_WORKFLOW.replace(
        "    enabled: true\n", "    enabled: true\n    custom_path: intake\n", 1
    )
    first = factories.workflow(project, with_path.format(name="First"))
    webhook_targets._CACHE.clear()
    assert client.post("/i/intake", json={}).status_code == 200
    store.delete_workflow(first.id, project.id)
    second = factories.workflow(project, with_path.format(name="Second"))
    response = client.post("/i/intake", json={})
    assert response.status_code == 200
    work_order = db.session.get(WorkOrder, response.get_json()["work_order_id"])
    assert work_order.workflow_id == second.id


def test_bad_input_through_the_fast_path_is_refused_with_what_to_fix(client, hook, db):
    _, _, trigger = hook
    before = _work_orders(db)
    cases = [
        (b'{"a": ', "application/json", 400),
        (b'{"a": "\\u0000"}', "application/json", 400),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
    ]
    for data, content_type, status in cases:
        response = client.post(f"/i/{trigger.id}", data=data, content_type=content_type)
        assert response.status_code == status, (data[:20], response.get_json())
        assert response.get_json()["error"]
    long_key = {"Idempotency-Key": "k" * 201}
    response = client.post(f"/i/{trigger.id}", json={}, headers=long_key)
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["error"]
    assert _work_orders(db) == before


def test_a_new_signing_secret_works_at_once(client, user, db):
    from tests.web.test_webhook_signatures import SHA256, mac, make_trigger

    trigger = make_trigger(user, SHA256, secret="the-first-secret-of-this-trigger")
    body = b'{"n": 1}'

    def signed_with(secret: str):
        signature = mac(body, secret).hex()
        return client.post(
            f"/i/{trigger.id}",
            data=body,
            content_type="application/json",
            headers={"X-Signature": signature, "Idempotency-Key": secret},
        )

    webhook_targets._CACHE.clear()
    assert signed_with("the-first-secret-of-this-trigger").status_code == 200
    assert str(trigger.id) in webhook_targets._CACHE
    webhook_signature_settings.set_secret(trigger.id, "the-second-secret-of-this-trigger")
    assert signed_with("the-second-secret-of-this-trigger").status_code == 200
    assert signed_with("the-first-secret-of-this-trigger").status_code == 401


def test_a_raised_payload_limit_applies_at_once(client, hook, db):
    project, _, trigger = hook
    db.session.get(Project, project.id).max_payload_kb = 1
    db.session.commit()
    big = {"text": "x" * 4000}
    assert client.post(f"/i/{trigger.id}", json=big).status_code == 413
    db.session.get(Project, project.id).max_payload_kb = 64
    db.session.commit()
    assert client.post(f"/i/{trigger.id}", json=big).status_code == 200
