"""Journeys: a superuser finds a user on the Users page and disables them, and the disabled
user's open tab is sent to the sign-in page on its next click; someone who forgot their
password gets a link by email (a real SMTP server) and chooses a new one."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from app.services import accounts
from tests.browser.conftest import Inbox, screenshot
from tests.browser.studio_helpers import sign_in, with_live_data

DINA = ("dina.disabled@users-journey.example.org", "quiet harbour lamp 58")
FRED = ("fred.forgetful@users-journey.example.org", "amber kettle meadow 17")
FRED_NEW_PASSWORD = "violet tram over hills"


def _new_tab(browser: Browser, live_server: str) -> Page:
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    return context.new_page()


def test_superuser_disables_a_user_whose_open_tab_is_signed_out(
    page: Page, browser: Browser, live_server: str
):
    with_live_data(lambda: accounts.create_user(*DINA, name="Dina Dlamini"))
    dina = _new_tab(browser, live_server)
    sign_in(dina, *DINA)

    sign_in(page)  # the demo superuser
    page.get_by_role("button", name=re.compile("Demo admin|Your account")).click()
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    # htmx listens to the box once the deferred scripts have run; typing before that would
    # go unheard.
    page.wait_for_load_state("load")
    page.get_by_label("Search by email or name").fill("dlamini")
    # The list narrows as one types (htmx), without a page load; a loaded machine (the whole
    # suite on two cores) can take more than the default 5 s to answer.
    expect(page.locator("#users-table tbody tr")).to_have_count(1, timeout=15_000)
    expect(page.locator("#users-table")).to_contain_text(DINA[0])
    screenshot(page, "users-1-search")

    page.get_by_role("link", name=f"Manage {DINA[0]}").click()
    expect(page.get_by_role("heading", name="Dina Dlamini")).to_be_visible()
    screenshot(page, "users-2-detail")
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text(f"{DINA[0]} is disabled and signed out everywhere.")).to_be_visible()
    expect(page.locator("main").get_by_text("Disabled", exact=True)).to_be_visible()
    screenshot(page, "users-3-disabled")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name=f"Delete {DINA[0]}?")).to_be_visible()
    expect(page.get_by_label("Type the user's email address to confirm")).to_be_visible()
    screenshot(page, "users-3b-delete-confirm")

    # Dina's tab is still open on her projects; her next click lands on the sign-in page.
    dina.get_by_role("link", name="Ferry").click()
    expect(dina).to_have_url(re.compile(r"/login"))
    expect(dina.get_by_role("heading", name="Sign in to Ferry")).to_be_visible()
    screenshot(dina, "users-4-disabled-tab-signed-out")
    # And she cannot sign in again.
    dina.get_by_label("Email").fill(DINA[0])
    dina.get_by_label("Password").fill(DINA[1])
    dina.get_by_role("button", name="Sign in").click()
    expect(dina.get_by_text("do not match an active account")).to_be_visible()
    dina.context.close()


def test_forgotten_password_is_reset_through_the_mailed_link(
    page: Page, live_server: str, smtp_inbox: Inbox
):
    with_live_data(lambda: accounts.create_user(*FRED, name="Fred"))
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    screenshot(page, "users-5-forgot-password")
    page.get_by_label("Email").fill(FRED[0])
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.get_by_text("If an account exists for")).to_be_visible()
    screenshot(page, "users-6-reset-sent")

    mail = smtp_inbox.wait_for(FRED[0])
    assert mail["Subject"] == "Reset your Ferry password"
    link = re.search(r"https?://\S+/password/reset/\S+", mail.get_content()).group(0)
    assert link.startswith(live_server)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    # A common password is refused next to the field, and nothing typed comes back.
    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("Repeat the new password").fill("password1234")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("on a list of commonly used passwords")).to_be_visible()
    expect(page.get_by_label("New password", exact=True)).to_have_value("")
    screenshot(page, "users-7-common-password-refused")
    page.get_by_label("New password", exact=True).fill(FRED_NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(FRED_NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    expect(page.get_by_text("Password changed.")).to_be_visible()
    screenshot(page, "users-8-signed-in-after-reset")

    # The link worked once.
    page.goto(link)
    expect(page.get_by_text("This reset link was already used")).to_be_visible()
