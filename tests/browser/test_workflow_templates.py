"""Starting from a template in Chromium: choose "Webhook → HTTP API", give the API's address,
create, find the sample input in the builder's run panel, press Run and see the records
arrive at a test API."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.servers_studio import RecordingServer
from tests.browser.studio_helpers import allow_loopback, node_state, sign_in
from tests.browser.test_workflow_import import open_create_workflow


def test_create_from_a_template_and_run_its_sample(page: Page):
    allow_loopback()
    with RecordingServer() as api:
        sign_in(page)
        open_create_workflow(page)
        expect(page.locator("#template-cards article")).to_have_count(4)
        screenshot(page, "templates-1-create-workflow")
        page.get_by_role("link", name="Use template Webhook → HTTP API, field by field").click()
        expect(
            page.get_by_role("heading", name="Webhook → HTTP API, field by field")
        ).to_be_visible()
        expect(page.get_by_label("Name of the new workflow")).to_have_value(
            "Records to an HTTP API"
        )
        expect(page.locator("#template-sample")).to_contain_text("Aminata")
        page.get_by_label("Where to send each record (URL)").fill("not an address")
        page.get_by_role("button", name="Create from template").click()
        expect(page.get_by_role("alert")).to_contain_text("Use a full http:// or https://")
        screenshot(page, "templates-2-use-form-error")
        page.get_by_label("Where to send each record (URL)").fill(f"{api.url}/people")
        page.get_by_role("button", name="Create from template").click()

        expect(page.locator("#studio-title")).to_have_text("Records to an HTTP API")
        expect(page.get_by_text("Its sample input is saved as a test input")).to_be_visible()
        page.wait_for_load_state("load")
        page.get_by_role("tab", name="Run").click()
        page.locator("label[for=run-source-stored]").click()
        expect(page.locator("#run-dataclip")).to_contain_text(
            "Records to an HTTP API — sample input"
        )
        expect(page.locator("#run-dataclip-preview")).to_contain_text("Aminata")
        page.get_by_role("button", name="Run").first.click()
        expect(page.locator("#run-status")).to_have_attribute(
            "data-run-state", "success", timeout=30_000
        )
        assert node_state(page, "job:send-records") == "success"
        screenshot(page, "templates-3-run-succeeded")
    assert [r["body"]["given_name"] for r in api.received] == ["Aminata", "Ibrahim"]
