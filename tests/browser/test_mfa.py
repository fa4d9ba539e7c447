"""Journey: a member opens a project that requires two-factor authentication, is sent to set
it up (QR code on the page, secret typed into an authenticator — here pyotp), sees the backup
codes once, comes back to the project; signs out and signs in with password and code."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Page, expect

from app.models import Role
from app.services import accounts, projects
from tests import factories
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import with_live_data
from tests.browser.test_sign_in import WATCH_CONTENT_POLICY, content_policy_violations

EMAIL, PASSWORD = "mira@mfa.example.org", "quiet harbour lantern 52"
PROJECT = "Vaccination records"


def _set_up() -> str:
    """Mira, an editor of a project that requires MFA; the project's id."""
    owner = accounts.create_user("owen@mfa.example.org", "owner forest candle 19")
    mira = accounts.create_user(EMAIL, PASSWORD, name="Mira Mensah")
    project = projects.create_project(owner, PROJECT)
    project.require_mfa = True
    factories.member(project, mira, Role.EDITOR)
    return str(project.id)


def _password_step(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_enrol_when_a_project_requires_it_then_sign_in_with_a_code(page: Page):
    project_id = with_live_data(_set_up)
    page.add_init_script(WATCH_CONTENT_POLICY)
    _password_step(page)
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()

    page.get_by_role("link", name=PROJECT).click()
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_text(f"{PROJECT} requires two-factor authentication.")).to_be_visible()
    qr = page.locator("svg.segno")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["height"] >= 150, box  # big enough to scan
    assert content_policy_violations(page) == [], "the enrolment page"
    screenshot(page, "mfa-enrol")

    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_text("That code does not match.")).to_be_visible()
    assert page.locator("#mfa-secret").inner_text().replace(" ", "") == secret  # same QR code

    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    codes = page.get_by_role("list", name="Backup codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    first_code = codes.first.inner_text()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", first_code)
    screenshot(page, "mfa-backup-codes")

    page.get_by_role("link", name="I have saved my codes — continue").click()
    expect(page).to_have_url(re.compile(f"/projects/{project_id}$"))
    expect(page.get_by_role("navigation", name="Project")).to_be_visible()

    # The codes are not shown again: the MFA page only counts them.
    page.locator(".navbar .dropdown-toggle").click()
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_text("10 of 10")).to_be_visible()
    expect(page.get_by_text(first_code)).to_have_count(0)
    screenshot(page, "mfa-status")

    page.locator(".navbar .dropdown-toggle").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    _password_step(page)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    assert content_policy_violations(page) == [], "the sign-in code page"
    screenshot(page, "mfa-sign-in-code")
    # A step newer than the one used to enrol, so the code has not been used yet.
    page.get_by_label("Authentication code").fill(totp.at(time.time(), counter_offset=1))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    page.get_by_role("link", name=PROJECT).click()
    expect(page.get_by_role("navigation", name="Project")).to_be_visible()
