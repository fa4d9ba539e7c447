"""Journey: watch the history page while webhooks arrive; rows appear and turn green without
a reload; open a run; rerun work orders in bulk."""

from __future__ import annotations

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

INTAKE = """
name: Clinic intake
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  register:
    name: Register patient
    adaptor: common@1
    body: |
      log(f"registering {S.data.patient}")
      fn(lambda state: {**state, "data": {"registered": state["data"]["patient"]}})
edges:
  webhook-register:
    source_trigger: webhook
    target_job: register
    condition_type: always
"""


@pytest.fixture(scope="module")
def intake(live_server) -> tuple[str, str, str]:
    """A workflow in the demo project of the live server; returns (project id, trigger id,
    workflow id). Other browser tests run webhooks in the same project, so counts filter by
    this workflow."""
    settings = Settings(
        env="test", database_url=database_url("browser"), redis_url=browser_redis_url()
    )
    app = create_app(settings)
    with app.app_context():
        project = db.session.query(Project).filter_by(name="Demo project").one()
        workflow = store.create_workflow(project.id, INTAKE)
        ids = (
            str(project.id),
            str(store.get_workflow(workflow.id).triggers[0].id),
            str(workflow.id),
        )
        db.session.remove()
        db.engine.dispose()
    return ids


def test_rows_appear_and_turn_green_without_reload(page: Page, live_server, intake):
    project_id, trigger_id, workflow_id = intake
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/history")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("#history-live-status")).to_have_text("Live", timeout=10_000)
    page.evaluate("window.__sameDocument = true")

    names = ["Amina Diallo", "Kofi Mensah", "Fatou Sow"]
    for name in names:
        reply = httpx.post(f"{live_server}/i/{trigger_id}", json={"patient": name}, timeout=10)
        assert reply.status_code == 200
    rows = page.locator("#history-new tr[id^='wo-']:not(.ferry-detail)")
    expect(rows).to_have_count(3, timeout=20_000)
    for index in range(3):
        expect(rows.nth(index)).to_have_attribute("data-state", "success", timeout=30_000)
    expect(rows.first.locator(".badge")).to_contain_text("success")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    screenshot(page, "history-live")

    # What the live view showed is what a reload shows (this workflow's rows).
    page.goto(f"/projects/{project_id}/history?workflow={workflow_id}")
    expect(page.locator("#history-rows tr[data-state='success']")).to_have_count(3)

    # Expand the newest work order in place, then open its run.
    page.locator("#history-rows [data-ferry-expand]").first.click()
    detail = page.locator("#history-rows tr.ferry-detail").first
    expect(detail).to_contain_text("Register patient")
    screenshot(page, "history-expanded")
    detail.get_by_role("link", name="Register patient").click()
    expect(page.get_by_role("heading", name="Register patient")).to_be_visible()
    expect(page.locator("#run-log-lines")).to_contain_text("registering Fatou Sow")
    page.get_by_role("tab", name="Output").click()
    expect(page.get_by_role("tab", name="Output")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#step-output")).to_be_visible()
    expect(page.locator("#step-output")).to_contain_text('"Fatou Sow"')
    page.wait_for_timeout(300)  # let the tab's colour transition finish for the screenshot
    screenshot(page, "run-page")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator(".ferry-chart rect[data-state='success']").first).to_be_visible()
    screenshot(page, "dashboard")


@pytest.mark.parametrize("stream", ["dropped", "full"])
def test_rows_still_update_by_polling_when_the_stream_is_down(
    page: Page, live_server, intake, stream
):
    project_id, trigger_id, _workflow_id = intake
    if stream == "dropped":  # a proxy that buffers, a dropped connection...
        page.route("**/history/stream*", lambda route: route.abort())
    else:  # what a web process answers once FERRY_SSE_MAX_STREAMS streams are open
        page.route("**/history/stream*", lambda route: route.fulfill(status=204))
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/history?q=polling&in=input")
    expect(page.locator("#history-live-status")).to_have_text("Updating every 5 s")
    reply = httpx.post(f"{live_server}/i/{trigger_id}", json={"patient": "polling test"})
    assert reply.status_code == 200
    row = page.locator("#history-new tr[id^='wo-']:not(.ferry-detail)")
    expect(row).to_have_count(1, timeout=15_000)
    expect(row).to_have_attribute("data-state", "success", timeout=20_000)
    screenshot(page, f"history-polling-{stream}")


def test_search_then_bulk_rerun_everything_matching(page: Page, live_server, intake):
    project_id, trigger_id, _workflow_id = intake
    for name in ("Zainab Bello", "Zainab Okafor"):
        httpx.post(f"{live_server}/i/{trigger_id}", json={"patient": name}, timeout=10)
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/history")
    page.get_by_label("Search", exact=True).fill("zainab")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{live_server}/projects/{project_id}/history?q=zainab&in=id&in=input")
    expect(page.locator("#history-rows tr[id^='wo-']:not(.ferry-detail)")).to_have_count(2)
    expect(page.locator("#history-count")).to_contain_text("2 work orders match")

    page.get_by_label("All matching this filter").check()
    page.get_by_role("button", name="Rerun…").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Rerun 2 work orders?")
    screenshot(page, "history-bulk-confirm")
    dialog.get_by_role("button", name="Rerun 2 work orders").click()
    expect(page.locator("#bulk-dialog")).to_contain_text("Done: 2 reruns queued", timeout=30_000)
    runs = page.locator("#history-rows tr[id^='wo-']:not(.ferry-detail) td:last-child")
    expect(runs.first).to_contain_text("2 runs", timeout=30_000)
    expect(runs.nth(1)).to_contain_text("2 runs", timeout=30_000)
    screenshot(page, "history-bulk-done")
