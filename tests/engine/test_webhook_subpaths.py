"""Sub-paths and signatures through the real stack (gunicorn, RQ workers, the sandbox): one
trigger serves a FHIR-style API, the job seeing the sub-path, method, query and headers
(secrets redacted) and answering synchronously; a signed request runs once, its replay is
refused by the web server without a second work order, even when copies race."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from app.extensions import db
from app.models import WebhookAuth, WorkOrder
from app.services.triggers import webhook_auth, webhook_signature_settings
from tests.engine.helpers import new_workflow

ECHO = """
fn(lambda state: {**state, "data": {
    "subpath": state["request"]["subpath"],
    "method": state["request"]["method"],
    "query": state["request"]["query"],
    "headers": state["request"]["headers"],
    "body": state["data"],
}})
"""


def document(name: str, path: str, extra: str = "") -> str:
    body = "\n".join("      " + line for line in ECHO.strip().splitlines())
    return (
        f"name: {name}\ntriggers:\n  hook:\n    type: webhook\n"
        f"    webhook_reply: after_completion\n    custom_path: {path}\n{extra}"
        "jobs:\n  echo:\n    name: Echo the request\n    adaptor: common@1\n    body: |\n"
        f"{body}\n"
        "edges:\n  hook->echo:\n    source_trigger: hook\n    target_job: echo\n"
        "    condition_type: always\n"
    )


def work_orders(stack, workflow_id) -> int:
    with stack.app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(WorkOrder).where(WorkOrder.workflow_id == workflow_id)
        )
        db.session.remove()
    return count


def test_one_trigger_serves_a_fhir_style_api(stack):
    path = f"fhir-{uuid.uuid4().hex[:8]}"
    workflow = new_workflow(stack, document("FHIR facade", path))
    with stack.app.app_context():
        key = webhook_auth.configure_webhook_auth(
            uuid.UUID(workflow["triggers"]["hook"]), WebhookAuth.API_KEY
        )
        db.session.remove()
    got = httpx.get(
        f"{stack.base_url}/i/{path}/Patient/123/_history/2?_format=json&_count=2",
        headers={"x-api-key": key, "X-Request-Id": "r-1"},
        timeout=30,
    )
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer["subpath"] == "Patient/123/_history/2" and answer["method"] == "GET"
    assert answer["query"] == {"_format": ["json"], "_count": ["2"]}
    assert answer["headers"]["x-api-key"] == "[REDACTED]"
    assert answer["headers"]["x-request-id"] == "r-1"
    posted = httpx.post(
        f"{stack.base_url}/i/{path}/Observation",
        json={"resourceType": "Observation", "status": "final"},
        headers={"x-api-key": key},
        timeout=30,
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["subpath"] == "Observation" and posted.json()["method"] == "POST"
    assert posted.json()["body"] == {"resourceType": "Observation", "status": "final"}


def test_a_signed_request_runs_once_and_its_replay_is_refused(stack):
    path = f"signed-{uuid.uuid4().hex[:8]}"
    extra = (
        "    webhook_signature_algorithm: sha256\n    webhook_signature_header: X-Signature\n"
        "    webhook_timestamp_header: X-Timestamp\n"
    )
    workflow = new_workflow(stack, document("Signed facade", path, extra))
    secret = "engine-test-shared-secret"
    with stack.app.app_context():
        webhook_signature_settings.set_secret(uuid.UUID(workflow["triggers"]["hook"]), secret)
        db.session.remove()
    body = b'{"resourceType": "Patient"}'
    stamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Timestamp": stamp, "X-Signature": mac}
    url = f"{stack.base_url}/i/{path}/Patient"
    first = httpx.post(url, content=body, headers=headers, timeout=30)
    assert first.status_code == 200, first.text
    assert first.json()["headers"]["x-signature"] == "[REDACTED]"
    assert first.json()["headers"]["x-timestamp"] == stamp
    again = httpx.post(url, content=body, headers=headers, timeout=30)
    assert again.status_code == 401 and "already received" in again.json()["error"]
    assert work_orders(stack, workflow["id"]) == 1


def test_two_copies_racing_cannot_both_be_accepted(stack):
    path = f"race-{uuid.uuid4().hex[:8]}"
    extra = "    webhook_signature_algorithm: sha256\n    webhook_signature_header: X-Signature\n"
    workflow = new_workflow(stack, document("Raced facade", path, extra))
    secret = "engine-test-racing-secret"
    with stack.app.app_context():
        webhook_signature_settings.set_secret(uuid.UUID(workflow["triggers"]["hook"]), secret)
        db.session.remove()
    body = b'{"n": 1}'
    headers = {
        "Content-Type": "application/json",
        "X-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    url = f"{stack.base_url}/i/{path}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: httpx.post(url, content=body, headers=headers, timeout=30), range(4))
        )
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401]
    assert work_orders(stack, workflow["id"]) == 1
