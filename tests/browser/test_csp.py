"""The enforced Content Security Policy (no 'unsafe-inline', no 'unsafe-eval') breaks no page:
every GET route of the app that renders HTML is opened in Chromium, anonymous pages first and
then as a superuser, and no page may report a single violation, on load or after using its
main widgets (a dropdown, the studio's code editor, htmx swaps, confirmations).

The routes come from the app's URL map, with the values of their URL parameters from the route
matrix (tests/authz: the same rows every role test points at), committed to the database of a
Ferry of this test's own, so that the journeys' shared server never sees them (its empty-
instance pages, like "No SSO providers yet", stay empty). A GET route neither visited nor in
SKIPPED fails the test, so a new page type cannot go unchecked; one that answers with a file
to save (an export) counts as visited.
Error pages: 404 and 403 are opened here (all of them draw errors/error.html); the 413 and 500
answers' headers are checked in tests/web/test_security_headers.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import OidcProvider
from tests.authz.rules import collect, url_params
from tests.authz.world import build_world
from tests.browser.conftest import Inbox, running_ferry
from tests.browser.studio_helpers import click_node, sign_in
from tests.factories import PASSWORD
from tests.support import database_url, second_browser_redis_url

pytestmark = pytest.mark.browser

# GET routes that are not pages, each with the reason (the JSON API's two blueprints are
# skipped as a whole below: token clients, never a browser).
SKIPPED = {
    "static": "files; their headers are checked in tests/web/test_security_headers.py",
    "favicon.icon": "an SVG file",
    "health.check": "JSON for load balancers",
    "metrics.scrape": "Prometheus text",
    "history.stream": "an event stream that never ends (the history page opens it)",
    "history.download_dataclip": "a JSON download",
    "project_settings.download_code": "a YAML download",
    "workflows.export": "a YAML download",
    "webhooks.receive_subpath": "JSON for webhook senders",
    "auth.sso_start": "a redirect to the identity provider's own site",
    "credentials.oauth_callback": "a redirect back from an OAuth provider (needs its state)",
}
API_BLUEPRINTS = ("api.", "collections_api.")
DATABASE = "csp"


@pytest.fixture(scope="module")
def csp_page(browser, smtp_inbox: Inbox):
    """A tab on a Ferry of this module's own (see the module docstring)."""
    with running_ferry(DATABASE, second_browser_redis_url(), smtp_inbox) as base:
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
        tab = context.new_page()
        outside: list[str] = []
        tab.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
        yield tab
        context.close()
        assert outside == [], f"the page requested outside addresses: {outside}"


VIOLATIONS_SCRIPT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.disposition} ${e.effectiveDirective} blocked=${e.blockedURI} ` +
                    `at ${e.sourceFile}:${e.lineNumber} sample=${e.sample}`);
});
"""
SHOTS = os.environ.get("FERRY_CSP_SHOTS")  # a folder: screenshot every page there (by hand)


def _seed() -> tuple[dict[str, str], dict[str, str], str, set[str]]:
    """The route matrix's world on the live server; (anonymous URLs, signed-in URLs, the
    superuser's email, every GET endpoint that should be opened), each URL by endpoint."""
    settings = Settings(
        env="test", database_url=database_url(DATABASE), redis_url=second_browser_redis_url()
    )
    app = create_app(settings)
    matrix = collect()
    values: dict[object, object] = {}
    anonymous: dict[str, str] = {}
    signed_in: dict[str, str] = {}
    pages: set[str] = set()
    with app.app_context(), app.test_request_context():
        world = build_world()

        def param(factory, name: str):
            # Each factory once: some insert a row with a unique name. The matrix's <slug>
            # and <provider_id> each make the same SSO provider: here they share one.
            if name == "slug":
                return db.session.get(OidcProvider, param(matrix.params["provider_id"], "")).slug
            if factory not in values:
                values[factory] = factory(world)
            return values[factory]

        for url_rule in app.url_map.iter_rules():
            endpoint = url_rule.endpoint
            if "GET" not in (url_rule.methods or ()) or endpoint in SKIPPED:
                continue
            if endpoint.startswith(API_BLUEPRINTS):
                continue
            pages.add(endpoint)
            rule = matrix.routes.get(endpoint)
            if rule is None:  # the route matrix fails for it too; reported at the end
                continue
            path = url_rule.rule
            for name in url_params(url_rule.rule):
                value = param(rule.params.get(name) or matrix.params[name], name)
                path = re.sub(rf"<(?:[^:<>]+:)?{name}>", quote(str(value), safe="/"), path)
            if rule.query:
                path += "?" + urlencode(dict(rule.query))
            (anonymous if rule.need == "public" else signed_in)[endpoint] = path
        db.session.commit()
        email = world.superuser.email
        db.engine.dispose()
    return anonymous, signed_in, email, pages


class Watch:
    """Violations a page reports: its securitypolicyviolation events and console errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(VIOLATIONS_SCRIPT)
        page.on(
            "console",
            lambda m: self.console.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def take(self) -> list[str]:
        """Everything reported since the last call, on the page as it is now."""
        found = self.page.evaluate("window.__csp ? window.__csp.splice(0) : []")
        found += self.console
        self.console.clear()
        return found


def _open(page: Page, watch: Watch, path: str, problems: dict, label: str) -> int:
    try:
        response = page.goto(path, wait_until="load")
    except PlaywrightError as refused:
        if "Download is starting" in refused.message:
            return 200  # a file to save (an export, say), not a page
        raise
    page.wait_for_timeout(80)  # htmx's load triggers and deferred scripts
    status = response.status if response else 0
    if status >= 500:
        problems[label] = [f"answered {status}"]
    found = watch.take()
    if found:
        problems[label] = found
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{label}.png", full_page=True)
    return status


def _check(watch: Watch, problems: dict, label: str) -> None:
    page_found = watch.take()
    if page_found:
        problems[label] = page_found


def test_no_page_trips_the_content_security_policy(csp_page: Page):
    page = csp_page
    anonymous, signed_in, email, pages = _seed()
    watch = Watch(page)
    problems: dict[str, list[str]] = {}
    visited: set[str] = set()

    for endpoint, path in sorted(anonymous.items()):
        _open(page, watch, path, problems, f"anonymous {endpoint}")
        visited.add(endpoint)
    _open(page, watch, "/no/such/page", problems, "anonymous 404 page")

    sign_in(page, email, PASSWORD)
    _check(watch, problems, "sign-in")
    for endpoint, path in sorted(signed_in.items()):
        _open(page, watch, path, problems, endpoint)
        visited.add(endpoint)
    _open(page, watch, "/projects/00000000-0000-0000-0000-000000000000", problems, "404 page")

    # Widgets: violations often come after load, from what scripts add to the page.
    page.goto(signed_in["projects.index"])
    page.locator("nav[aria-label=Main] .dropdown-toggle").click()
    expect(page.locator("nav[aria-label=Main] .dropdown-menu")).to_be_visible()
    _check(watch, problems, "user menu")

    page.goto(signed_in["workflows.index"])
    label = page.locator("label[for^=enabled-]").first  # drawn by the server: the swap's mark
    was = page.get_by_role("switch").first.is_checked()
    for now in ("Off", "On") if was else ("On", "Off"):
        page.get_by_role("switch").first.click()  # the row comes back through htmx
        expect(label).to_have_text(re.compile(f"^{now}"))
    _check(watch, problems, "workflow on/off switch (htmx)")

    page.goto(signed_in["workflows.builder"])
    page.wait_for_function("window.ferryStudio && window.ferryStudio.graph")
    click_node(page, "job:fetch")
    expect(page.locator("#step-body-editor .ace_content").first).to_be_visible()
    page.locator("#step-body-editor .ace_content").first.click()
    page.keyboard.type("# csp")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/studio step editor.png")
    # Styled by the vendored files, not by the <style> elements ace and cytoscape would add.
    gutter = "getComputedStyle(document.querySelector('#step-body-editor .ace_gutter'))"
    assert page.evaluate(f"{gutter}.backgroundColor") == "rgb(240, 240, 240)"  # textmate
    assert page.evaluate(f"{gutter}.position") == "absolute"  # ace.css
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    page.get_by_role("tab", name="Run").click()
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#panel-history")).not_to_contain_text("Loading the saved versions")
    _check(watch, problems, "studio step editor, run and history tabs")

    page.goto(signed_in["history.index"])
    page.locator("[data-ferry-expand]").first.click()  # the row's details, an htmx swap
    expect(page.locator(".ferry-detail").first).to_contain_text("Load cases")
    _check(watch, problems, "history row expanded (htmx)")

    page.goto(signed_in["dashboard.show"])
    bar = page.locator("[data-ferry-width]").first  # its width comes from behaviours.js
    assert bar.evaluate("e => e.getBoundingClientRect().width") > 100
    _check(watch, problems, "dashboard bars")

    page.goto(signed_in["admin.oauth_clients"])
    asked: list[str] = []

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Delete").first.click()
    expect(page.get_by_role("button", name="Delete").first).to_be_visible()
    assert asked and asked[0].startswith("Delete the OAuth client"), asked
    _check(watch, problems, "OAuth client delete confirmation")

    # Signing out lands on the sign-in page, which is checked like the others.
    page.locator("nav[aria-label=Main] .dropdown-toggle").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    _check(watch, problems, "sign-out")

    # The watch itself works: an inline style is refused and reported.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<b style=\"color: red\">x</b>')")
    page.wait_for_function("window.__csp.length > 0")
    assert watch.take()[0].startswith("enforce style-src-attr blocked=inline")

    # A GET route left out above (no entry in the route matrix) fails here, with the rest.
    unvisited = sorted(pages - visited)
    if unvisited:
        problems["not visited"] = [
            f"{', '.join(unvisited)}: give each an entry in tests/authz/routes_*.py "
            "(it is then opened here), or a reason in SKIPPED"
        ]
    assert not problems, (
        "Pages with Content Security Policy violations (or not opened):\n"
        + "\n".join(f"  {label}: {found}" for label, found in problems.items())
    )
