"""Journey: open the profile from the user menu, create a personal API token, copy it from
the page, call the API with it, revoke it and see the API refuse it; the audit log shows
both. Screenshots of the profile, the new token and the audit log pages."""

from __future__ import annotations

import secrets

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in


def _projects(live_server: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{live_server}/api/v1/projects", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_create_use_and_revoke_a_personal_api_token(page: Page, live_server: str):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    sign_in(page)
    page.get_by_role("button", name="Demo admin").click()
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Profile", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Personal API tokens")).to_be_visible()
    screenshot(page, "profile-page")

    # A wrong current password is explained next to the field (the demo password stays).
    page.get_by_label("Current password").fill("not my password at all")
    page.get_by_label("New password").fill("pelican harbour lantern 42")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("That is not your current password.")).to_be_visible()
    expect(page.get_by_label("Current password")).to_have_value("")
    screenshot(page, "profile-password-error")

    name = f"Nightly export {secrets.token_hex(3)}"
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name=f"Token “{name}” created")).to_be_visible()
    page.wait_for_load_state("load")  # the copy button's script is a deferred module
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied")).to_be_visible()
    screenshot(page, "profile-token-created")
    token = page.evaluate("navigator.clipboard.readText()")  # what the Copy button copied
    assert token.startswith("fry_")
    assert token == page.get_by_role("textbox", name="API token").input_value()

    assert _projects(live_server, token).status_code == 200

    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text(token[:10])
    expect(row).to_contain_text("just now")  # created, and last used by the call above
    assert token not in page.content()  # shown once: never again
    screenshot(page, "profile-tokens")

    row.get_by_text("Revoke…").click()
    expect(row.get_by_text("stops working at once")).to_be_visible()
    screenshot(page, "profile-token-revoke-confirm")
    row.get_by_role("button", name="Revoke “").click()
    expect(page.get_by_text(f"Token “{name}” revoked")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("Revoked")

    refused = _projects(live_server, token)
    assert refused.status_code == 401

    page.get_by_role("button", name="Demo admin").click()
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    body = page.locator("tbody")
    expect(body).to_contain_text("Revoked")
    expect(body).to_contain_text(name)
    screenshot(page, "audit-log-instance")


def test_the_project_audit_log_is_a_settings_tab(page: Page):
    sign_in(page)
    page.get_by_role("link", name="Demo project").click()
    project_url = page.url.rstrip("/")
    page.goto(f"{project_url}/settings/audit")
    expect(page.get_by_role("link", name="Audit log")).to_have_attribute("aria-current", "page")
    screenshot(page, "audit-log-project")
