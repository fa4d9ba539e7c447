"""A history export end to end, on the real stack (gunicorn, RQ workers, scheduler, their own
PostgreSQL database and Redis): webhook runs, then a member asks for an export of the failed
ones through the web, a worker builds it, the ready mail is delivered (to the development
outbox: the shared stack has no MAIL_URL), and the zip downloaded over HTTP holds exactly the
failed work orders with their runs, steps, logs and dataclips."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile

import httpx
from sqlalchemy import select

from app.extensions import db
from app.models import MailMessage, MailStatus
from app.services import accounts, projects
from app.services.workflows import store
from tests.engine.conftest import wait_until
from tests.engine.helpers import post_webhook, wait_for_work_order
from tests.support import csrf_token_from

PASSWORD = "correct horse battery staple"
DOCUMENT = """
name: Clinic sync
triggers:
  hook:
    type: webhook
jobs:
  check:
    name: Check patient
    adaptor: common@1
    body: |
      log("checking", S.data["patient"])
      fn(lambda state: state if state["data"]["ok"] else 1 / 0)
edges:
  hook->check:
    source_trigger: hook
    target_job: check
    condition_type: always
"""


def a_member_and_a_workflow(stack) -> tuple[str, uuid.UUID, str]:
    """A user (email), their project and its workflow's webhook trigger id."""
    with stack.app.app_context():
        email = f"exporter-{uuid.uuid4().hex[:6]}@example.org"
        user = accounts.create_user(email, PASSWORD)
        project = projects.create_project(user, "Export clinic")
        workflow = store.create_workflow(project.id, DOCUMENT)
        result = (email, project.id, str(workflow.triggers[0].id))
        db.session.remove()
    return result


def signed_in_client(stack, email: str) -> httpx.Client:
    client = httpx.Client(base_url=stack.base_url, timeout=30)
    token = csrf_token_from(client.get("/login").text)
    signed = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 302, signed.text
    return client


def export_mail_to(stack, email: str) -> MailMessage | None:
    """The export's ready mail (the failed runs also send failure alerts)."""
    with stack.app.app_context():
        message = db.session.scalars(
            select(MailMessage).where(
                MailMessage.to_address == email, MailMessage.subject.contains("history export")
            )
        ).first()
        if message is not None:
            db.session.expunge(message)
        db.session.remove()
        return message


def test_a_filtered_export_is_built_by_a_worker_mailed_and_downloaded(stack):
    email, project_id, trigger_id = a_member_and_a_workflow(stack)
    failed = []
    for n, ok in enumerate((True, False, True, False, False)):
        reply = post_webhook(stack, trigger_id, {"patient": f"P-{n}", "ok": ok})
        assert reply.status_code == 200, reply.text
        wait_for_work_order(stack, reply.json()["work_order_id"])
        if not ok:
            failed.append(reply.json()["work_order_id"])

    client = signed_in_client(stack, email)
    history = client.get(f"/projects/{project_id}/history", params={"state": "failed"})
    assert history.status_code == 200 and 'id="history-export"' in history.text
    started = client.post(
        f"/projects/{project_id}/history/exports",
        data={
            "csrf_token": csrf_token_from(history.text),
            "state": "failed",
            "include_dataclips": "y",
        },
    )
    assert started.status_code == 303, started.text
    page = client.get(started.headers["Location"]).text
    export_id = re.search(r"/history/exports/([0-9a-f-]{36})", page).group(1)

    row_url = f"/projects/{project_id}/history/exports/{export_id}"
    row = wait_until(
        lambda: (r := client.get(row_url).text) and 'data-state="ready"' in r and r,
        "the worker to build the export",
        60,
        every=0.3,
    )
    assert "5 work orders" not in row and "3 work orders" in row

    message = wait_until(
        lambda: (m := export_mail_to(stack, email)) and m.status is not MailStatus.QUEUED and m,
        "the ready mail to be delivered",
        30,
        every=0.3,
    )
    assert message.status is MailStatus.OUTBOX
    assert message.subject == "[Ferry] Your history export of Export clinic is ready"
    assert f"/projects/{project_id}/history/exports/{export_id}/download" in message.text

    download = client.get(f"{row_url}/download")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert 'filename="ferry-history-export-clinic-' in download.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        files = {
            name: [json.loads(line) for line in archive.read(name).decode().splitlines()]
            for name in archive.namelist()
            if name.endswith(".jsonl")
        }
        manifest = json.loads(archive.read("manifest.json"))
    assert sorted(w["id"] for w in files["work_orders.jsonl"]) == sorted(failed)
    assert {w["state"] for w in files["work_orders.jsonl"]} == {"failed"}
    assert len(files["runs.jsonl"]) == 3 and len(files["steps.jsonl"]) == 3
    assert {s["step_name"] for s in files["steps.jsonl"]} == {"Check patient"}
    messages = " ".join(line["message"] for line in files["logs.jsonl"])
    assert "checking" in messages and "P-1" in messages and "P-0" not in messages
    bodies = [c.get("body") for c in files["dataclips.jsonl"]]
    assert {"patient": "P-3", "ok": False} in bodies
    assert manifest["counts"]["work_orders.jsonl"] == 3 and manifest["filter"] == {
        "state": ["failed"]
    }
    client.close()
