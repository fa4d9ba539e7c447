"""POST /i/<trigger>: accepted requests are stored before the answer; every refusal says why."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from redis import Redis
from rq.job import Job
from sqlalchemy import func, select

from app import create_app
from app.models import Dataclip, Run, RunState, WebhookAuth, WorkOrder
from app.services.triggers import webhook_auth
from tests import factories


@pytest.fixture
def hook(user, db):
    """A saved workflow with a webhook trigger; returns (workflow, trigger)."""
    project = factories.project(user)
    workflow = factories.workflow(project)
    return workflow, workflow.triggers[0]


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_get_says_the_trigger_exists(client, hook):
    _, trigger = hook
    response = client.get(f"/i/{trigger.id}")
    assert response.status_code == 200
    assert "POST to this URL" in response.get_json()["message"]


def test_json_request_becomes_a_work_order_with_a_queued_run(client, hook, db, settings):
    workflow, trigger = hook
    response = client.post(
        f"/i/{trigger.id}?source=clinic",
        json={"patient": {"id": 7}},
        headers={"Authorization": "Bearer not-stored", "X-Trace": "abc"},
    )
    assert response.status_code == 200
    body = response.get_json()
    work_order = db.session.get(WorkOrder, body["work_order_id"])
    run = db.session.get(Run, body["run_id"])
    assert work_order.workflow_id == workflow.id and work_order.trigger_id == trigger.id
    assert run.state is RunState.AVAILABLE and run.work_order_id == work_order.id
    clip = db.session.get(Dataclip, work_order.dataclip_id)
    assert clip.body == {"patient": {"id": 7}}
    assert clip.request["method"] == "POST"
    assert clip.request["query"] == {"source": ["clinic"]}
    assert clip.request["headers"]["authorization"] == "[REDACTED]"
    assert clip.request["headers"]["x-trace"] == "abc"
    connection = Redis.from_url(settings.redis_url)
    # The run's job is written by Ferry, not by RQ's enqueue: RQ must read it as its own.
    job = Job.fetch(f"run-{run.id}", connection=connection)
    assert job.func_name == "workers.jobs.execute_run" and job.args == (str(run.id),)
    assert job.origin == "runs" and job.get_status() == "queued" and job.timeout == -1
    assert job.enqueued_at is not None and job.result_ttl == 0
    assert f"run-{run.id}".encode() in connection.lrange("rq:queue:runs", 0, -1)


def test_xml_body_is_kept_raw_with_its_content_type(client, hook, db):
    _, trigger = hook
    xml = "<data><case id='1'>Amina</case></data>"
    response = client.post(f"/i/{trigger.id}", data=xml, content_type="application/xml")
    assert response.status_code == 200
    work_order = db.session.get(WorkOrder, response.get_json()["work_order_id"])
    clip = db.session.get(Dataclip, work_order.dataclip_id)
    assert clip.raw_body == xml and clip.body is None
    assert clip.content_type == "application/xml"


def test_custom_path_reaches_the_trigger(client, user, db):
    project = factories.project(user)
    source = factories.SIMPLE_WORKFLOW.format(name="Custom").replace(
        "    enabled: true\n", "    enabled: true\n    custom_path: clinic-intake\n", 1
    )
    factories.workflow(project, source)
    assert client.post("/i/clinic-intake", json={}).status_code == 200


def test_unknown_trigger_is_404(client, db):
    response = client.post("/i/00000000-0000-0000-0000-000000000000", json={})
    assert response.status_code == 404
    assert response.get_json()["error"] == "No webhook trigger exists at this address."


def test_disabled_trigger_is_403(client, hook, db):
    _, trigger = hook
    trigger.enabled = False
    db.session.commit()
    response = client.post(f"/i/{trigger.id}", json={})
    assert response.status_code == 403
    assert "disabled" in response.get_json()["error"]


def test_api_key_missing_is_401_and_wrong_is_404(client, hook, db):
    _, trigger = hook
    key = webhook_auth.configure_webhook_auth(trigger.id, WebhookAuth.API_KEY)
    missing = client.post(f"/i/{trigger.id}", json={})
    assert missing.status_code == 401
    assert "x-api-key" in missing.get_json()["error"]
    wrong = client.post(f"/i/{trigger.id}", json={}, headers={"x-api-key": "guess"})
    assert wrong.status_code == 404
    assert wrong.get_json()["error"] == "No webhook trigger exists at this address."
    right = client.post(f"/i/{trigger.id}", json={}, headers={"x-api-key": key})
    assert right.status_code == 200
    assert count(db, WorkOrder) == 1


def test_basic_auth(client, hook, db):
    _, trigger = hook
    password = webhook_auth.configure_webhook_auth(trigger.id, WebhookAuth.BASIC, username="clinic")

    def basic(user, secret):
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}

    assert client.post(f"/i/{trigger.id}", json={}).status_code == 401
    assert client.post(f"/i/{trigger.id}", json={}, headers=basic("clinic", "x")).status_code == 404
    assert (
        client.post(f"/i/{trigger.id}", json={}, headers=basic("other", password)).status_code
        == 404
    )
    assert (
        client.post(f"/i/{trigger.id}", json={}, headers=basic("clinic", password)).status_code
        == 200
    )


def test_body_over_the_limit_is_413(client, hook, db, app):
    _, trigger = hook
    limit = app.config["FERRY_SETTINGS"].max_dataclip_mb * 1024 * 1024
    response = client.post(f"/i/{trigger.id}", data=b"x" * (limit + 1), content_type="text/plain")
    assert response.status_code == 413
    assert "MB limit" in response.get_json()["error"]
    assert count(db, WorkOrder) == 0


def test_malformed_json_is_400(client, hook, db):
    _, trigger = hook
    response = client.post(f"/i/{trigger.id}", data='{"patient": ', content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]
    assert count(db, WorkOrder) == 0


def test_idempotency_key_returns_the_original_work_order(client, hook, db):
    _, trigger = hook
    headers = {"Idempotency-Key": "visit-2026-11-23-0042"}
    first = client.post(f"/i/{trigger.id}", json={"n": 1}, headers=headers).get_json()
    second = client.post(f"/i/{trigger.id}", json={"n": 2}, headers=headers).get_json()
    assert first == second
    assert count(db, WorkOrder) == 1
    other = client.post(f"/i/{trigger.id}", json={}, headers={"Idempotency-Key": "another"})
    assert other.get_json()["work_order_id"] != first["work_order_id"]


def test_database_unavailable_is_503_with_retry_after(settings):
    broken = create_app(
        dataclasses.replace(
            settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        )
    )
    response = broken.test_client().post("/i/00000000-0000-0000-0000-000000000001", json={})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "nothing was saved" in response.get_json()["error"]
    # Asking whether the trigger exists says the same, not 500.
    response = broken.test_client().get("/i/00000000-0000-0000-0000-000000000001")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"


def test_webhooks_need_no_csrf_token(client, hook):
    _, trigger = hook
    response = client.post(f"/i/{trigger.id}", data=json.dumps({}), content_type="application/json")
    assert response.status_code == 200
