"""Journey: a superuser adds an OpenID Connect provider on the admin page; a colleague signs
in with it in Chromium through the real provider process on loopback; and the refusal pages
(unknown email domain, a tampered callback, a provider that is down) say what happened and
lead back to the sign-in page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import OidcProvider, User
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from app.services.sso import providers
from tests.browser.conftest import screenshot
from tests.browser.test_sign_in import sign_in
from tests.oidc_provider import Provider, running_provider
from tests.support import browser_redis_url, database_url

SECRET = "browser-sso-client-secret"


@pytest.fixture(scope="module")
def oidc_provider():
    """The identity provider process the journeys sign in at."""
    with running_provider(require_nonce=True) as provider:
        yield provider


@pytest.fixture
def live_db(live_server):
    """The live server's database, opened from the test process; SSO providers the test
    made are deleted afterwards, so other journeys see a plain sign-in page."""
    app = create_app(
        Settings(env="test", database_url=database_url("browser"), redis_url=browser_redis_url())
    )
    with app.app_context():
        yield db
        db.session.rollback()
        db.session.execute(delete(OidcProvider))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sso_page(browser: Browser, live_server: str, oidc_provider: Provider):
    """A tab on the live server that may also visit the identity provider. Ferry's pages
    must request nothing else; the provider's own page loads a stylesheet from a CDN, which
    is refused here (no test reaches the internet)."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    allowed = (live_server, oidc_provider.base_url)
    tab.route(lambda url: not url.startswith(allowed), lambda route: route.abort())
    outside: list[str] = []

    def watch(request) -> None:
        if not request.url.startswith(allowed) and request.frame.url.startswith(live_server):
            outside.append(request.url)

    tab.on("request", watch)
    yield tab
    context.close()
    assert outside == [], f"Ferry's pages requested outside addresses: {outside}"


def _add_provider(live_db, name: str, discovery_url: str, domains: str) -> None:
    admin = live_db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    providers.save(
        admin,
        None,
        {
            "name": name,
            "discovery_url": discovery_url,
            "client_id": "ferry-browser",
            "client_secret": SECRET,
            "allowed_domains": domains,
            "enabled": True,
        },
    )


def _consent(page: Page, subject: str) -> None:
    """On the provider's consent page: sign in as `subject`."""
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()


def test_a_superuser_adds_a_provider_and_a_colleague_signs_in_with_it(
    sso_page: Page, live_server: str, live_db, oidc_provider: Provider
):
    page = sso_page
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.locator(".navbar .dropdown-toggle").click()
    page.get_by_role("link", name="SSO providers").click()
    expect(page.get_by_text("No SSO providers yet")).to_be_visible()
    page.get_by_role("link", name="Add SSO provider").first.click()
    page.get_by_label("Name").fill("Acme ID")
    page.get_by_label("Discovery URL").fill(oidc_provider.base_url)
    page.get_by_label("Client id").fill("ferry-browser")
    page.get_by_label("Client secret").fill(SECRET)
    page.get_by_label("Allowed email domains").fill("ngo.example")
    screenshot(page, "sso-provider-form")
    page.get_by_role("button", name="Save").click()
    callback = f"{live_server}/login/sso/acme-id/callback"
    expect(
        page.get_by_text(f"Register this redirect address at the provider: {callback}")
    ).to_be_visible()
    expect(page.get_by_role("cell", name=callback)).to_be_visible()
    screenshot(page, "sso-providers-list")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Client secret")).to_have_value("")
    assert SECRET not in page.content()
    page.locator(".navbar .dropdown-toggle").click()
    page.get_by_role("button", name="Sign out").click()

    oidc_provider.set_claims(
        "amara", email="amara@ngo.example", email_verified=True, name="Amara Diallo"
    )
    page.goto("/login")
    screenshot(page, "sso-login-page")
    page.get_by_role("link", name="Sign in with Acme ID").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    assert page.url.startswith(oidc_provider.authorization_endpoint + "?")
    screenshot(page, "sso-provider-consent")
    _consent(page, "amara")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    assert page.url.startswith(live_server)
    page.locator(".navbar .dropdown-toggle").click()
    expect(page.get_by_text("amara@ngo.example")).to_be_visible()
    screenshot(page, "sso-signed-in")


def test_refusal_pages_for_an_unknown_domain_and_a_tampered_callback(
    sso_page: Page, live_db, oidc_provider: Provider
):
    page = sso_page
    _add_provider(live_db, "Acme ID", oidc_provider.discovery_url, "ngo.example")
    oidc_provider.set_claims("stranger", email="sam@elsewhere.example", email_verified=True)
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Acme ID").click()
    _consent(page, "stranger")
    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "people at elsewhere.example do not get one by signing in with Acme ID"
    )
    screenshot(page, "sso-refused-unknown-domain")
    page.get_by_role("link", name="Back to sign in").click()
    expect(page.get_by_role("heading", name="Sign in to Ferry")).to_be_visible()

    # The provider sends the browser back, but someone changed the state on the way.
    oidc_provider.set_claims("tess", email="tess@ngo.example", email_verified=True)
    page.get_by_role("link", name="Sign in with Acme ID").click()
    captured: list[str] = []

    def hold_back(route) -> None:
        # Let the provider answer the consent, but keep its redirect back to Ferry.
        if route.request.method != "POST":
            return route.continue_()
        answer = route.fetch(max_redirects=0)
        captured.append(answer.headers["location"])
        return route.fulfill(status=200, body="held back")

    page.route(f"{oidc_provider.authorization_endpoint}*", hold_back)
    _consent(page, "tess")
    expect(page.get_by_text("held back")).to_be_visible()
    page.unroute(f"{oidc_provider.authorization_endpoint}*")
    tampered = captured[0].replace("state=", "state=tampered")
    response = page.goto(tampered)
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="This sign-in cannot be completed")).to_be_visible()
    expect(page.get_by_role("link", name="Try Acme ID again")).to_be_visible()
    screenshot(page, "sso-refused-bad-state")
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in to Ferry")).to_be_visible()


def test_a_provider_that_is_down_gets_a_clear_page(sso_page: Page, live_db):
    page = sso_page
    with running_provider() as doomed:
        _add_provider(live_db, "Partner ID", doomed.discovery_url, "")
        page.goto("/login")
        doomed.stop()
        with page.expect_response("**/login/sso/partner-id") as answer:
            page.get_by_role("link", name="Sign in with Partner ID").click()
        assert answer.value.status == 503
        expect(page.get_by_role("heading", name="Partner ID is not answering")).to_be_visible()
        expect(page.get_by_text("Try again in a few minutes")).to_be_visible()
        screenshot(page, "sso-refused-provider-down")
        page.get_by_role("link", name="Back to sign in").click()
        expect(page.get_by_role("link", name="Sign in with Partner ID")).to_be_visible()
