"""Signing in with a provider through Ferry's pages: the buttons, the redirect, the callback
that starts a fresh session, and the refusal pages (never a 500, always a way back)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import AuditEvent, User
from app.services import accounts
from app.services.sso import providers
from app.web.auth import mfa_views
from tests import factories
from tests.sso_support import provider_fields
from tests.support import free_port, log_in

VERIFIED = {"email_verified": True}


def start(client, slug="acme-id", **query):
    """Click "Sign in with ..."; returns the provider's authorisation URL."""
    response = client.get(f"/login/sso/{slug}", query_string=query)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def sso_sign_in(client, oidc_provider, subject, slug="acme-id", query=None, **claims):
    """The whole journey; returns the callback's response and its query values."""
    if claims:
        oidc_provider.set_claims(subject, **claims)
    returned = oidc_provider.consent(start(client, slug, **(query or {})), subject)
    return client.get(f"/login/sso/{slug}/callback", query_string=returned), returned


def assert_refusal_page(response, status: int, words: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert words in html
    assert 'href="/login"' in html and "Back to sign in" in html
    assert "Traceback" not in html
    return html


def test_the_login_page_offers_enabled_providers_only(client, admin, oidc_provider):
    assert "Sign in with" not in client.get("/login").get_data(as_text=True)
    providers.save(admin, None, provider_fields(oidc_provider))
    providers.save(admin, None, provider_fields(oidc_provider, name="Off ID", enabled=False))
    html = client.get("/login?next=/credentials").get_data(as_text=True)
    assert "Sign in with Acme ID" in html and "Off ID" not in html
    assert 'href="/login/sso/acme-id?next=/credentials"' in html


def test_signing_in_with_the_provider_starts_a_fresh_session(
    client, db, sso_provider, oidc_provider
):
    person = accounts.create_user("nia@example.org", None, name="Nia")
    with client.session_transaction() as before:
        before["planted"] = "from before sign-in"
    callback, _ = sso_sign_in(client, oidc_provider, "sub-nia", email=person.email, **VERIFIED)
    assert callback.status_code == 302 and callback.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "nia@example.org" in page.get_data(as_text=True)
    with client.session_transaction() as after:
        assert "planted" not in after and "sso_pending" not in after
        assert after["_user_id"].startswith(str(person.id))
    entry = db.session.scalar(
        select(AuditEvent).where(AuditEvent.event == "signed_in", AuditEvent.item_id == person.id)
    )
    assert entry.changes == {"method": "sso:acme-id"}


def test_the_page_asked_for_before_sign_in_opens_after_it(client, sso_provider, oidc_provider):
    callback, _ = sso_sign_in(
        client,
        oidc_provider,
        "sub-oz",
        query={"next": "/credentials"},
        email="oz@example.org",
        **VERIFIED,
    )
    assert callback.headers["Location"] == "/credentials"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "javascript:x"])
def test_only_local_pages_are_opened_after_sign_in(client, sso_provider, oidc_provider, target):
    callback, _ = sso_sign_in(
        client,
        oidc_provider,
        "sub-pia",
        query={"next": target},
        email="pia@example.org",
        **VERIFIED,
    )
    assert callback.headers["Location"] == "/"


def test_reloading_the_callback_cannot_sign_in_again(client, sso_provider, oidc_provider):
    callback, returned = sso_sign_in(
        client, oidc_provider, "sub-q", email="q@example.org", **VERIFIED
    )
    assert callback.status_code == 302
    again = client.get("/login/sso/acme-id/callback", query_string=returned)
    assert_refusal_page(again, 400, "already used")


@pytest.mark.parametrize(
    "change",
    [
        lambda q: {**q, "state": q["state"][:-2] + "xx"},
        lambda q: {k: v for k, v in q.items() if k != "state"},
        lambda q: {**q, "state": ""},
        lambda q: {**q, "state": "a" * 10_000},
    ],
)
def test_a_tampered_state_is_refused(client, sso_provider, oidc_provider, change):
    oidc_provider.set_claims("sub-r", email="r@example.org", **VERIFIED)
    returned = oidc_provider.consent(start(client), "sub-r")
    response = client.get("/login/sso/acme-id/callback", query_string=change(returned))
    assert_refusal_page(response, 400, "This sign-in cannot be completed")
    assert client.get("/").status_code == 302


def test_a_callback_in_another_browser_is_refused(app, client, sso_provider, oidc_provider):
    # Login CSRF: someone sends their own callback link to a victim's browser.
    oidc_provider.set_claims("sub-attacker", email="att@example.org", **VERIFIED)
    returned = oidc_provider.consent(start(client), "sub-attacker")
    victim = app.test_client()
    assert_refusal_page(victim.get("/login/sso/acme-id/callback", query_string=returned), 400, "")


def test_a_refused_state_does_not_use_up_the_real_one(client, sso_provider, oidc_provider):
    oidc_provider.set_claims("sub-s", email="s@example.org", **VERIFIED)
    returned = oidc_provider.consent(start(client), "sub-s")
    forged = {**returned, "state": "forged"}
    assert client.get("/login/sso/acme-id/callback", query_string=forged).status_code == 400
    assert client.get("/login/sso/acme-id/callback", query_string=returned).status_code == 302


def test_two_sign_ins_started_in_two_tabs_both_work(client, sso_provider, oidc_provider):
    oidc_provider.set_claims("sub-t", email="t@example.org", **VERIFIED)
    first, second = start(client), start(client)
    returned = oidc_provider.consent(first, "sub-t")
    assert client.get("/login/sso/acme-id/callback", query_string=returned).status_code == 302
    assert second != first


@pytest.mark.parametrize("slug", ["nope", "x" * 3000, "%C3%A9", "a%00b", "..%2F..", "ACME-ID"])
def test_crafted_provider_names_are_not_found(client, sso_provider, slug):
    for url in (f"/login/sso/{slug}", f"/login/sso/{slug}/callback?state=x&code=y"):
        response = client.get(url)
        assert response.status_code == (400 if "%00" in slug else 404), url
        assert "Traceback" not in response.get_data(as_text=True)
    assert_refusal_page(client.get("/login/sso/nope"), 404, "No such sign-in option")


def test_a_disabled_provider_cannot_be_used(client, admin, sso_provider, oidc_provider):
    providers.save(admin, sso_provider.id, provider_fields(oidc_provider, enabled=False))
    assert_refusal_page(client.get("/login/sso/acme-id"), 404, "turned off")


def test_a_provider_that_is_down_gets_a_clear_page(client, db, sso_provider):
    sso_provider.discovery_url = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    db.session.commit()
    html = assert_refusal_page(client.get("/login/sso/acme-id"), 503, "Acme ID is not answering")
    assert "Try again in a few minutes" in html and 'href="/login/sso/acme-id"' in html


def test_a_provider_refusing_the_person_gets_a_clear_page(client, sso_provider, oidc_provider):
    url = start(client)
    state = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))["state"]
    response = client.get(
        "/login/sso/acme-id/callback", query_string={"state": state, "error": "access_denied"}
    )
    assert_refusal_page(response, 403, "Acme ID did not sign you in (access_denied)")


def test_an_unknown_domain_gets_a_clear_page_and_no_account(
    client, db, sso_provider, oidc_provider
):
    callback, _ = sso_sign_in(
        client, oidc_provider, "sub-u", email="u@elsewhere.example", **VERIFIED
    )
    assert_refusal_page(callback, 403, "people at elsewhere.example do not get one")
    assert db.session.scalar(select(User.id).where(User.email == "u@elsewhere.example")) is None
    assert client.get("/").status_code == 302


def test_a_disabled_user_gets_a_clear_page(client, db, sso_provider, oidc_provider):
    person = accounts.create_user("v@example.org", None)
    person.disabled = True
    db.session.commit()
    callback, _ = sso_sign_in(client, oidc_provider, "sub-v", email=person.email, **VERIFIED)
    assert_refusal_page(callback, 403, "Your Ferry account is disabled")


def test_people_with_ferry_mfa_are_asked_for_their_code(
    client, db, sso_provider, oidc_provider, monkeypatch
):
    person = accounts.create_user("w@example.org", None)
    person.totp_confirmed_at = person.inserted_at
    db.session.commit()
    calls = []

    def challenge(user, *, remember, next_url):
        calls.append((user.id, remember, next_url))
        return "asked for the code", 200

    monkeypatch.setattr(mfa_views, "begin_challenge", challenge)
    callback, _ = sso_sign_in(
        client,
        oidc_provider,
        "sub-w",
        query={"next": "/credentials"},
        email=person.email,
        **VERIFIED,
    )
    assert callback.get_data(as_text=True) == "asked for the code"
    assert calls == [(person.id, False, "/credentials")]
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "sso_verified"))
    assert entry.item_id == person.id and entry.changes == {"provider": "Acme ID"}
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.event == "signed_in")) is None


def test_signed_in_people_starting_again_go_to_their_projects(signed_in, sso_provider):
    response = signed_in.get("/login/sso/acme-id")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_sso_addresses_answer_get_only(client, sso_provider):
    assert client.post("/login/sso/acme-id").status_code in (400, 405)
    assert client.put("/login/sso/acme-id/callback").status_code == 405


def test_sso_only_domains_cannot_use_the_password_form(client, admin, oidc_provider):
    providers.save(admin, None, provider_fields(oidc_provider, sso_only=True))
    person = factories.user(email="x@example.org")
    response = log_in(client, person.email, factories.PASSWORD)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "People at example.org sign in with Acme ID." in html
    assert "Sign in with Acme ID" in html
    assert client.get("/").status_code == 302
    elsewhere = factories.user(email="y@elsewhere.example")
    assert log_in(client, elsewhere.email, factories.PASSWORD).status_code == 302


def test_only_the_last_few_pending_sign_ins_are_kept(client, sso_provider):
    start(client)
    with client.session_transaction() as state:
        assert len(state["sso_pending"]) == 1
    for _ in range(5):
        start(client)
    with client.session_transaction() as state:
        assert len(state["sso_pending"]) == 3, "only the last few sign-ins are kept"


def test_after_the_provider_the_mfa_step_still_comes_first(client, db, sso_provider, oidc_provider):
    person = accounts.create_user("mfa@example.org", None)
    person.totp_confirmed_at = person.inserted_at
    db.session.commit()
    callback, _ = sso_sign_in(client, oidc_provider, "sub-mfa", email=person.email, **VERIFIED)
    assert callback.status_code == 302 and callback.headers["Location"] == "/login/mfa"
    assert client.get("/").status_code == 302, "not signed in before the code"
