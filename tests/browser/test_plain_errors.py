"""Journey: a webhook's run fails because the input lacks the list the step goes through; the
run page and the expanded history row say so in plain words, and the technical detail opens
with one click."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Project
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from app.services.workflows import store
from tests.browser.conftest import screenshot
from tests.browser.test_sign_in import sign_in
from tests.support import browser_redis_url, database_url

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/ferry/shots/A")

FLOW = """
name: Registry push (plain errors)
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  push:
    name: Send to registry
    adaptor: common@1
    body: |
      each(S.data.records, fn(lambda state: state))
edges:
  webhook-push:
    source_trigger: webhook
    target_job: push
    condition_type: always
"""
SENTENCE = "The input has no records. It has: source, patients."  # JSONB key order


@pytest.fixture(scope="module")
def flow(live_server) -> tuple[str, str]:
    """(project id, trigger id) of the workflow above in the live server's demo project."""
    settings = Settings(
        env="test", database_url=database_url("browser"), redis_url=browser_redis_url()
    )
    app = create_app(settings)
    with app.app_context():
        project = db.session.query(Project).filter_by(name="Demo project").one()
        workflow = store.create_workflow(project.id, FLOW)
        ids = str(project.id), str(store.get_workflow(workflow.id).triggers[0].id)
        db.session.remove()
        db.engine.dispose()
    return ids


def test_a_failed_run_reads_plainly_with_the_technical_detail_a_click_away(
    page: Page, live_server, flow
):
    project_id, trigger_id = flow
    reply = httpx.post(
        f"{live_server}/i/{trigger_id}",
        json={"patients": [{"name": "Amina"}], "source": "clinic"},
        timeout=10,
    )
    assert reply.status_code == 200
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/history")
    row = page.locator("#history-rows tr[id^='wo-']:not(.ferry-detail)").first
    expect(row).to_have_attribute("data-state", "failed", timeout=30_000)
    row.locator("[data-ferry-expand]").click()
    detail = page.locator("#history-rows tr.ferry-detail").first
    expect(detail.locator("[data-error-sentence]").first).to_contain_text(
        "Step “Send to registry”: " + SENTENCE
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "history-failed-row.png"))

    detail.get_by_role("link", name="Run").first.click()
    box = page.locator(".alert[data-plain-error='missing_key']").first
    expect(box.locator("[data-error-sentence]")).to_have_text(
        "Step “Send to registry”: " + SENTENCE
    )
    expect(box.locator("[data-error-check]")).to_contain_text("Check the field name")
    technical = box.locator("details code")
    expect(technical).to_be_hidden()
    box.get_by_text("Technical detail").click()
    expect(technical).to_be_visible()
    expect(technical).to_contain_text("StateKeyError: S.data.records: no key 'records'")
    page.screenshot(path=str(SHOTS / "run-page-failed.png"))
    screenshot(page, "run-page-failed")
