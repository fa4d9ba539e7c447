"""The Data protection tab's retention card in Chromium: an owner tries to keep bodies
longer than history, reads why next to the field, fixes it and saves; the page then says
what the purge will remove. A screenshot at 1280x800 goes to test-artifacts/."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in


def test_an_owner_sets_the_retention_policy(page: Page, live_server: str):
    sign_in(page)
    page.get_by_role("link", name="Demo project").click()
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Data protection").click()
    card = page.locator("#retention")
    expect(card.get_by_role("heading", name="Data retention")).to_be_visible()

    card.get_by_label("Keep history (work orders, runs, steps and logs) for").select_option("30")
    card.get_by_label("Keep inputs and outputs (dataclip bodies) for").select_option("forever")
    card.get_by_role("button", name="Save retention").click()
    expect(card.locator("#dataclip_retention_days-error")).to_contain_text(
        "cannot be kept longer than the history they belong to (30 days)"
    )
    # What was chosen is kept, so only the wrong box needs changing.
    expect(card.get_by_label("Keep history (work orders, runs, steps and logs) for")).to_have_value(
        "30"
    )

    card.get_by_label("Keep inputs and outputs (dataclip bodies) for").select_option("7")
    card.get_by_role("button", name="Save retention").click()
    expect(page.get_by_role("alert").or_(page.locator(".alert-success")).first).to_contain_text(
        "Retention saved"
    )
    expect(
        page.locator("#retention").get_by_label("Keep inputs and outputs (dataclip bodies) for")
    ).to_have_value("7")
    screenshot(page, "data-protection-retention")
