"""Journey: filter the history to one workflow, export it with its dataclips, watch the export
reach "ready" on the exports page without a reload, get the mail, and download the zip."""

from __future__ import annotations

import json
import re
import time
import zipfile

import httpx
import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Project
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from app.services.workflows import store
from tests.browser.conftest import Inbox, screenshot
from tests.browser.test_sign_in import sign_in
from tests.support import browser_redis_url, database_url

pytestmark = pytest.mark.browser

REGISTRY = """
name: Export registry
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  register:
    name: Register household
    adaptor: common@1
    body: |
      log(f"registering {S.data.household}")
      fn(lambda state: state)
edges:
  webhook-register:
    source_trigger: webhook
    target_job: register
    condition_type: always
"""


@pytest.fixture(scope="module")
def registry(live_server) -> tuple[str, str, str]:
    """A workflow in the demo project: (project id, trigger id, workflow id)."""
    settings = Settings(
        env="test", database_url=database_url("browser"), redis_url=browser_redis_url()
    )
    app = create_app(settings)
    with app.app_context():
        project = db.session.query(Project).filter_by(name="Demo project").one()
        workflow = store.create_workflow(project.id, REGISTRY)
        ids = (str(project.id), str(workflow.triggers[0].id), str(workflow.id))
        db.session.remove()
        db.engine.dispose()
    return ids


def export_mail(inbox: Inbox, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in inbox.messages if "history export" in (m["Subject"] or "")]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, "the export's ready mail did not arrive"
        time.sleep(0.2)


def test_filter_export_watch_progress_and_download(
    page: Page, live_server, registry, smtp_inbox, tmp_path
):
    project_id, trigger_id, workflow_id = registry
    for household in ("H-1", "H-2", "H-3"):
        reply = httpx.post(f"{live_server}/i/{trigger_id}", json={"household": household})
        assert reply.status_code == 200
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/history")
    page.get_by_label("Workflow").select_option(workflow_id)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#history-count")).to_have_text("3 work orders match these filters")

    page.get_by_role("button", name="Export…").click()
    panel = page.locator("#history-export")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("may hold personal data")
    expect(panel).to_have_class(re.compile(r"\bcollapse\b.*\bshow\b"))  # opened fully
    screenshot(page, "history-export-form")
    panel.get_by_label("Include dataclips").check()
    panel.get_by_role("button", name="Start export").click()

    expect(page.get_by_role("heading", name="History exports")).to_be_visible()
    row = page.locator("tr[id^='export-']").first
    expect(row).to_contain_text("Export registry")
    expect(row).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(row).to_contain_text("3 work orders")
    screenshot(page, "history-exports")

    with page.expect_download() as started:
        row.get_by_role("link", name="Download").click()
    download = started.value
    assert download.suggested_filename.startswith("ferry-history-demo-project-")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with zipfile.ZipFile(path) as archive:
        orders = archive.read("work_orders.jsonl").decode().splitlines()
        clips = [json.loads(line) for line in archive.read("dataclips.jsonl").decode().splitlines()]
    assert len(orders) == 3
    assert {"household": "H-2"} in [clip.get("body") for clip in clips]

    mail = export_mail(smtp_inbox)
    assert DEMO_EMAIL in mail["To"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"{live_server}/projects/{project_id}/history/exports/" in text
