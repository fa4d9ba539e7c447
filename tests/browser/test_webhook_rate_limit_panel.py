"""The trigger panel's rate limit: a bad number is named next to the field on save, a good
one is saved with the workflow, and the live server then answers 429 past it with nothing
stored."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import click_node, sign_in
from tests.browser.test_webhook_signatures_panel import open_new_workflow


def test_an_editor_limits_a_webhook_trigger_and_the_server_keeps_to_it(
    page: Page, live_server: str
):
    sign_in(page)
    open_new_workflow(page, "Rate-limited intake")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    click_node(page, "trigger:webhook")
    rate = page.get_by_label("Rate limit (optional)")
    expect(rate).to_have_attribute("placeholder", "No limit")

    rate.fill("0")
    page.keyboard.press("Control+s")
    error = page.locator("[data-error-for=webhook_requests_per_minute]")
    expect(error).to_contain_text("from 1 to 100,000")
    rate.fill("2")
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version")).to_be_visible()
    expect(error).to_be_empty()
    rate.scroll_into_view_if_needed()
    screenshot(page, "webhook-rate-limit-panel")

    page.reload()
    click_node(page, "trigger:webhook")
    expect(page.get_by_label("Rate limit (optional)")).to_have_value("2")

    url = page.locator("#webhook-url").input_value()
    answers = [httpx.post(url, json={"n": n}, timeout=10).status_code for n in range(3)]
    assert answers == [200, 200, 429]
