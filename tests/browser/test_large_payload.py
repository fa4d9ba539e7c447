"""Journey: a source system posts a 2 MB JSON body; the run page shows a preview of its
start, says how much of how much it shows, and downloads the whole body on a click."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Project
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from app.services.workflows import store
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_sign_in import sign_in
from tests.support import browser_redis_url, database_url

pytestmark = pytest.mark.browser

FLOW = """
name: Registrations (large)
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  count:
    name: Count registrations
    adaptor: common@1
    body: |
      fn(lambda state: {**state, "data": {"count": len(state["data"]), "records": state["data"]}})
edges:
  webhook-count:
    source_trigger: webhook
    target_job: count
    condition_type: always
"""
RECORDS = [
    {"id": n, "name": f"Patient {n}", "district": "Gulu", "visits": [{"reason": "check-up"}]}
    for n in range(25_000)
]


@pytest.fixture(scope="module")
def flow(live_server):
    """(project id, trigger id) of the workflow above in the demo project."""
    settings = Settings(
        env="test", database_url=database_url("browser"), redis_url=browser_redis_url()
    )
    app = create_app(settings)
    with app.app_context():
        project = db.session.query(Project).filter_by(name="Demo project").one()
        created = store.create_workflow(project.id, FLOW)
        ids = str(project.id), str(created.triggers[0].id)
        db.session.remove()
        db.engine.dispose()
    return ids


def test_a_large_body_is_previewed_and_downloads_whole(page: Page, live_server, flow, tmp_path):
    project_id, trigger_id = flow
    body = json.dumps(RECORDS).encode()
    assert 1.8e6 < len(body) < 2.5e6
    reply = httpx.post(
        f"{live_server}/i/{trigger_id}",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    run_id = uuid.UUID(reply.json()["run_id"])
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)

    page.goto(f"/projects/{project_id}/runs/{run_id}")
    expect(page.locator("#run-body")).to_have_attribute("data-state", "success", timeout=60_000)
    notice = page.locator("#step-input [data-ferry-preview]")
    expect(notice).to_contain_text("Preview: first 19.5 KB of 2.")
    expect(notice).to_contain_text("This input is too large to show whole.")
    expect(page.locator("#step-input pre")).to_contain_text('"name": "Patient 0"')
    page.screenshot(path=str(ARTIFACTS / "run-page-large-body-preview.png"))

    with page.expect_download() as waiting:
        notice.get_by_role("link", name="Download the whole body").click()
    download = waiting.value
    assert download.suggested_filename.startswith("dataclip-")
    assert download.suggested_filename.endswith(".json")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert json.loads(saved.read_bytes()) == RECORDS

    page.get_by_role("tab", name="Output").click()
    output = page.locator("#step-output [data-ferry-preview]")
    expect(output).to_contain_text("This output is too large to show whole.")
    expect(page.locator("#step-output pre")).to_contain_text('"count": 25000')
    page.screenshot(path=str(ARTIFACTS / "run-page-large-output-preview.png"))
