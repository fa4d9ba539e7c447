"""Journeys for issue 15's rough edges a first-time user meets outside the studio: a
credential created from a project stays in it; dashboard counts equal the rows their links
open; no page asks for a missing favicon; the empty project and history say what to do first.
Screenshots at 1280x800 go to /tmp/ferry/shots/E/ (and test-artifacts/)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.models import Project, User, WorkOrderState
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests import factories
from tests import history_factories as hf
from tests.browser.conftest import screenshot
from tests.browser.test_credentials import live_db  # noqa: F401 (a fixture)
from tests.browser.test_sign_in import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/ferry/shots/E")


def shot(page: Page, name: str) -> None:
    """A screenshot for people to look at (the page as seen at 1280x800, then all of it)."""
    screenshot(page, f"e-{name}")
    if SHOTS.parent.exists():
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))
        page.screenshot(path=str(SHOTS / f"{name}-full.png"), full_page=True)


def _fresh_project(live_db, name: str) -> uuid.UUID:  # noqa: F811
    demo = live_db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    project = factories.project(demo, f"{name} {uuid.uuid4().hex[:6]}")
    project_id = project.id
    live_db.session.remove()
    return project_id


def test_a_credential_created_in_a_project_stays_in_it(page: Page, live_db):  # noqa: F811
    project_id = _fresh_project(live_db, "Registry sync")
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/credentials")
    page.get_by_role("link", name="Create credential").first.click()
    sidebar = page.get_by_role("navigation", name="Project")
    expect(sidebar.get_by_role("link", name="Credentials")).to_have_attribute(
        "aria-current", "page"
    )
    page.locator("a.card", has=page.get_by_role("heading", name="HTTP", exact=True)).click()
    expect(sidebar).to_be_visible()
    expect(sidebar.get_by_role("link", name="Credentials")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_text("Example: true")).to_have_count(0)
    base_url = page.get_by_label("Base URL")
    expect(base_url).to_have_attribute("placeholder", "")
    expect(page.locator("#field-base_url-help")).to_contain_text("e.g. https://example.org")
    expect(page.get_by_label("Share it into this project")).to_be_checked()
    page.get_by_label("Name", exact=True).fill("Registry API")
    base_url.fill("https://registry.example.org")
    shot(page, "credential-form-in-project")
    page.get_by_role("button", name="Save credential").click()

    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/credentials$"))
    expect(page.get_by_text("saved and shared into")).to_be_visible()
    expect(sidebar).to_be_visible()
    shot(page, "project-credentials-after-create")
    page.get_by_role("link", name="Registry API").click()
    details = page.locator("section[aria-labelledby=details-title]")
    expect(details).to_contain_text("Base URL")
    expect(details).to_contain_text("Verify TLS")
    expect(details).not_to_contain_text("base_url")
    expect(details).not_to_contain_text("verify_tls")
    expect(page.locator("section[aria-labelledby=shares-title]")).to_contain_text("Registry sync")
    shot(page, "credential-page")


def test_dashboard_counts_equal_the_rows_their_links_open(page: Page, live_db):  # noqa: F811
    project_id = _fresh_project(live_db, "Counting")
    project = live_db.session.get(Project, project_id)
    sync, stock = hf.workflow(project, "Patient sync"), hf.workflow(project, "Stock levels")
    now = datetime.now(UTC)
    retried = hf.work_order(sync, state="failed", received=now - timedelta(hours=2))
    hf.add_run(retried, "success", at_=now - timedelta(hours=1, minutes=59))
    retried.state = WorkOrderState.SUCCESS
    live_db.session.commit()
    hf.work_order(stock, state="failed", received=now - timedelta(hours=3))
    hf.work_order(stock, state="success", received=now - timedelta(minutes=20))
    live_db.session.remove()

    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/dashboard")
    shot(page, "dashboard")
    failed = page.locator("[data-figure='Failed work orders']")
    expect(failed.locator("[data-count]")).to_have_text("1")
    expect(failed).to_contain_text("2 failed runs in all (1 retried since)")
    links = page.locator("a[data-opens-list]")
    targets = []
    for index in range(links.count()):
        link = links.nth(index)
        count = link.get_attribute("data-count")
        if count is None:  # a card's link: its figure is the card's big number
            card = link.locator("xpath=ancestor::*[@data-figure][1]")
            count = card.locator("[data-count]").inner_text()
        targets.append((link.get_attribute("href"), int(count.replace(",", ""))))
    assert len(targets) >= 5
    for href, count in targets:
        page.goto(href)
        expect(page.locator("#history-count")).not_to_contain_text("Counting")
        assert page.locator("#history-rows > tr[data-state]").count() == count, href
    shot(page, "history-from-dashboard")


def test_no_page_load_answers_404(page: Page, live_db):  # noqa: F811
    project_id = _fresh_project(live_db, "Favicon")
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    for path in (
        "/projects",
        f"/projects/{project_id}",
        f"/projects/{project_id}/dashboard",
        f"/projects/{project_id}/history",
        f"/projects/{project_id}/credentials",
        "/credentials",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    icon = page.evaluate("fetch('/favicon.ico').then(r => [r.status, r.url])")
    assert icon[0] == 200 and icon[1].endswith("/static/favicon.svg")
    assert missing == []


def test_the_empty_project_and_history_say_what_to_do_first(page: Page, live_db):  # noqa: F811
    project_id = _fresh_project(live_db, "First run")
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}")
    tour = page.locator("[data-first-steps]")
    expect(tour).to_contain_text("Create a workflow from a template")
    expect(tour.get_by_role("link", name="Create workflow")).to_have_attribute(
        "href", f"/projects/{project_id}/workflows/new"
    )
    shot(page, "project-empty")
    page.goto(f"/projects/{project_id}/history")
    expect(page.get_by_text("No workflow here starts from a webhook yet")).to_be_visible()
    shot(page, "history-no-webhook")

    project = live_db.session.get(Project, project_id)
    workflow = factories.workflow(project, name="Patient intake")
    trigger_id = workflow.triggers[0].id
    live_db.session.remove()
    page.reload()
    guide = page.locator("[data-first-request]")
    expect(guide.get_by_label("Webhook URL of Patient intake", exact=True)).to_have_value(
        re.compile(rf"/i/{trigger_id}$")
    )
    curl = guide.get_by_label(re.compile("A curl command"))
    expect(curl).to_have_value(re.compile(rf'^curl -X POST "http://[^"]+/i/{trigger_id}"'))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    guide.get_by_role("button", name="Copy the curl command for Patient intake").click()
    expect(guide.get_by_text("Copied")).to_be_visible()
    shot(page, "history-first-request")
