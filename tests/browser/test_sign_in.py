"""Journey: sign in with the demo login, open a project, create one, sign out."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.conftest import screenshot


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_wrong_password_shows_one_clear_message(page: Page):
    sign_in(page, DEMO_EMAIL, "not the demo password")
    expect(page.get_by_role("alert")).to_contain_text(
        "That email and password do not match an active account."
    )
    expect(page.get_by_label("Email")).to_have_value(DEMO_EMAIL)
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "sign-in-wrong-password")


def test_sign_in_open_and_create_projects_then_sign_out(page: Page):
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    screenshot(page, "projects-list")

    page.get_by_role("link", name="Demo project").click()
    expect(page).to_have_title("Overview — Demo project · Ferry")
    expect(page.get_by_role("navigation", name="Project")).to_be_visible()
    screenshot(page, "project-overview")

    page.goto("/projects/new")
    page.get_by_role("button", name="Create project").click()  # empty name: browser keeps it
    page.get_by_label("Name").fill("Malaria reporting")
    page.get_by_label("Description").fill("Weekly case counts into DHIS2.")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Malaria reporting")).to_be_visible()
    expect(page.get_by_text("Project “Malaria reporting” created.")).to_be_visible()
    screenshot(page, "project-created")

    page.locator(".navbar .dropdown-toggle").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(f"{page.url.split('/login')[0]}/login?next=%2F")


# Records every CSP violation the page raises, from the first script on (Playwright injects
# this before the page's own scripts run); tests/browser/test_csp.py checks every page type.
WATCH_CONTENT_POLICY = """
window.ferryCspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  const what = `${event.effectiveDirective} blocked ${event.blockedURI}`;
  window.ferryCspViolations.push(`${what} (${where})`);
});
"""


def content_policy_violations(page: Page) -> list[str]:
    """What the content policy blocked on the current page so far."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # violation events are queued as tasks after the fact
    return page.evaluate("window.ferryCspViolations")


def test_sign_in_and_project_pages_raise_no_content_policy_reports(page: Page):
    page.add_init_script(WATCH_CONTENT_POLICY)
    page.goto("/login")
    assert content_policy_violations(page) == [], "the sign-in page"
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    page.locator(".navbar .dropdown-toggle").click()
    assert content_policy_violations(page) == [], "the projects page and its user menu"
    page.get_by_role("link", name="Demo project").click()
    expect(page.get_by_role("navigation", name="Project")).to_be_visible()
    assert content_policy_violations(page) == [], "the project page"

    # The watch itself works: an inline style attribute is reported.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<b style=\"color: red\">x</b>')")
    page.wait_for_function("window.ferryCspViolations.length > 0")
    assert content_policy_violations(page)[0].startswith("style-src-attr blocked inline")
