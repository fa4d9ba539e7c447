"""Two people editing one workflow in Chromium, each in their own browser context: each sees
the other in the builder's presence list; the first saves a changed step; the second's save
is refused with a panel naming the first and showing the changed line of the body; "Reload
their version" shows it; and when the second closes the page, the first sees them gone."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.models import Project, ProjectMember, Role
from app.services import accounts
from app.services.workflows import store
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import click_node, sign_in, type_in_editor, with_live_data

PASSWORD = "two people, one workflow"
WORKFLOW = """
name: {name}
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  fetch:
    name: Fetch cases
    adaptor: common@1
    body: |
      fn(lambda state: state)
  load:
    name: Load cases
    adaptor: common@1
    body: |
      log("loading")
edges:
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
    condition_type: always
  fetch->load:
    source_job: fetch
    target_job: load
    condition_type: on_job_success
"""


def two_editors_and_a_workflow() -> tuple[str, str, str]:
    """Amina and Ben, editors of the demo project, and a workflow of two steps: its URL."""
    suffix = uuid.uuid4().hex[:8]

    def change():
        project = db.session.query(Project).filter_by(name="Demo project").one()
        for first, last in (("Amina", "Diallo"), ("Ben", "Okafor")):
            email = f"{first.lower()}.{suffix}@example.org"
            user = accounts.create_user(email, PASSWORD, name=f"{first} {last}")
            db.session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.EDITOR))
        workflow = store.create_workflow(project.id, WORKFLOW.format(name=f"Shared {suffix}"))
        return f"/projects/{project.id}/workflows/{workflow.id}"

    url = with_live_data(change)
    return url, f"amina.{suffix}@example.org", f"ben.{suffix}@example.org"


def open_builder(browser: Browser, live_server: str, email: str, url: str) -> Page:
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, email, PASSWORD)
    page.goto(url)
    page.wait_for_load_state("load")
    expect(page.locator("#studio-version")).to_have_text("v1")
    return page


def test_two_editors_see_each_other_and_a_stale_save_shows_what_changed(
    browser: Browser, live_server: str
):
    url, amina_email, ben_email = two_editors_and_a_workflow()
    amina = open_builder(browser, live_server, amina_email, url)
    ben = open_builder(browser, live_server, ben_email, url)
    try:
        # Each sees the other (within a poll: 10 s), by initials with the name on hover.
        ben_sees = ben.locator("#studio-presence [data-present]")
        expect(ben_sees).to_have_attribute("data-present", "Amina Diallo", timeout=15000)
        expect(ben.locator("#studio-presence")).to_contain_text("Amina is also editing")
        amina_sees = amina.locator("#studio-presence [data-present]")
        expect(amina_sees).to_have_attribute("data-present", "Ben Okafor", timeout=15000)
        expect(amina_sees).to_have_attribute("title", "Ben Okafor is also editing")
        expect(amina_sees).to_have_text("BO Ben Okafor")
        # The avatars sit beside the version badge, clear of the canvas tools.
        avatars = amina.locator("#studio-presence").bounding_box()
        tools = amina.get_by_role("toolbar", name="Canvas tools").bounding_box()
        assert avatars["width"] > 0 and avatars["x"] + avatars["width"] <= tools["x"]
        screenshot(amina, "edit-safety-1-presence")

        # Amina changes the first step's body and saves: version 2.
        click_node(amina, "job:fetch")
        type_in_editor(amina, "#step-body-editor", 'log("Amina changed this")\n')
        amina.get_by_role("button", name="Save", exact=True).click()
        expect(amina.locator("#studio-version")).to_have_text("v2")

        # Ben, still on version 1, renames the other step and saves: refused, explained.
        click_node(ben, "job:load")
        ben.get_by_label("Name", exact=True).fill("Load cases into DHIS2")
        ben.get_by_role("button", name="Save", exact=True).click()
        panel = ben.locator("#save-conflict-modal")
        expect(panel).to_be_visible()
        expect(panel.get_by_role("heading", level=2)).to_have_text(
            "Not saved: Amina Diallo saved this workflow meanwhile"
        )
        expect(panel).to_contain_text("saved version 2")
        expect(panel).to_contain_text("You started from version 1")
        diff = panel.locator("[data-body-diff]")
        expect(diff).to_contain_text('+log("Amina changed this")')
        expect(diff).to_contain_text("-fn(lambda state: state)")
        expect(panel.get_by_text("Step “Fetch cases”")).to_be_visible()
        expect(ben.locator("#studio-version")).to_have_text("v1")  # nothing saved
        expect(ben.locator("#studio-dirty")).to_be_visible()  # and nothing lost
        screenshot(ben, "edit-safety-2-conflict")

        # "Keep editing" keeps Ben's change on the canvas; "Reload their version" shows hers.
        panel.get_by_role("button", name="Keep editing").click()
        expect(panel).to_be_hidden()
        expect(ben.get_by_label("Name", exact=True)).to_have_value("Load cases into DHIS2")
        ben.get_by_role("button", name="Save", exact=True).click()
        expect(panel).to_be_visible()
        panel.get_by_role("button", name="Reload their version (your changes are lost)").click()
        expect(ben.locator("#studio-version")).to_have_text("v2")
        ben.wait_for_load_state("load")
        click_node(ben, "job:fetch")
        expect(ben.locator("#step-body-editor .ace_content")).to_contain_text(
            'log("Amina changed this")'
        )
        click_node(ben, "job:load")
        expect(ben.get_by_label("Name", exact=True)).to_have_value("Load cases")

        # Ben closes the page: Amina sees him gone at her next poll (his tab says it is
        # leaving; were that lost, his entry would expire after 30 s).
        ben.close(run_before_unload=True)
        expect(amina.locator("#studio-presence [data-present]")).to_have_count(0, timeout=45000)
        expect(amina.locator("#studio-presence")).to_have_text("")
    finally:
        amina.context.close()
        ben.context.close()
