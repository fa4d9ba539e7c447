"""OAuth credentials against a real provider process: an admin configures the client, a
user authorises through the code flow, runs refresh expired tokens, and a refused refresh
fails with 'reauthorize this credential' and an audit entry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.models import Credential
from app.services import audit
from app.services.credentials import oauth, store
from app.services.encryption import decrypt_json, encrypt_json
from app.services.errors import Invalid
from tests import factories
from tests.oidc_provider import running_provider
from tests.support import log_in, post_form


@pytest.fixture(scope="module")
def oidc_provider():
    """A real OAuth/OIDC provider process on loopback."""
    with running_provider() as provider:
        yield provider


@pytest.fixture
def provider_client(db, oidc_provider):
    """An OAuth client for the provider, configured by a superuser."""
    admin = factories.user(superuser=True)
    return oauth.save_client(
        admin,
        None,
        {
            "name": "Test provider",
            "authorization_endpoint": oidc_provider.authorization_endpoint,
            "token_endpoint": oidc_provider.token_endpoint,
            "client_id": "ferry-tests",
            "client_secret": "client-secret-value",
            "scopes": "openid, email",
        },
    )


def authorise(client, provider, oauth_client, name: str, subject: str = "alice"):
    """Go through the flow as a browser would; returns the callback response."""
    new_page = f"/credentials/new/oauth/{oauth_client.id}"
    action = f"/credentials/oauth/{oauth_client.id}/authorize"
    start = post_form(client, new_page, action, {"name": name})
    assert start.status_code == 302
    location = start.headers["Location"]
    assert location.startswith(provider.authorization_endpoint)
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["openid email"]
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/credentials/oauth/callback"]
    returned = provider.consent(location, subject)
    return client.get("/credentials/oauth/callback", query_string=returned)


def _expire(credential: Credential) -> None:
    """Move the token's expiry into the past, as if an hour had gone by."""
    body = decrypt_json(credential.body_encrypted)
    body["expires_at"] = 1_000
    credential.body_encrypted = encrypt_json(body)
    store.db.session.commit()


def test_authorise_refresh_and_failed_refresh(
    signed_in,
    user,
    db,
    oidc_provider,
    provider_client,
):
    callback = authorise(signed_in, oidc_provider, provider_client, "Provider API")
    assert callback.status_code == 302
    credential = db.session.query(Credential).filter_by(name="Provider API").one()
    assert credential.user_id == user.id and credential.schema == "oauth"
    body = decrypt_json(credential.body_encrypted)
    assert oidc_provider.token_works(body["access_token"]) and body["refresh_token"]
    page = signed_in.get(callback.headers["Location"]).get_data(as_text=True)
    assert "Provider API" in page and "Test provider" in page
    assert body["access_token"] not in page and body["refresh_token"] not in page

    # A fresh token is handed to runs as it is: only the access token, never the refresh one.
    run = store.credentials_for_run({credential.id})
    assert run.bodies[credential.id]["access_token"] == body["access_token"]
    assert "refresh_token" not in run.bodies[credential.id]

    _expire(credential)
    run = store.credentials_for_run({credential.id})
    refreshed = run.bodies[credential.id]["access_token"]
    assert refreshed != body["access_token"] and oidc_provider.token_works(refreshed)
    assert not oidc_provider.token_works(body["access_token"])
    stored = decrypt_json(credential.body_encrypted)
    assert stored["access_token"] == refreshed and stored["expires_at"] > 10_000
    assert audit.trail(audit.CREDENTIAL, credential.id)[0].event == "token_refreshed"

    oidc_provider.revoke_all_tokens("alice")
    _expire(credential)
    run = store.credentials_for_run({credential.id})
    assert credential.id not in run.bodies
    assert "reauthorize this credential" in run.problems[credential.id]
    assert "invalid_grant" in run.problems[credential.id]
    entry = audit.trail(audit.CREDENTIAL, credential.id)[0]
    assert (entry.event, entry.actor, entry.changes) == (
        "token_refresh_failed",
        "Ferry",
        {"error": "invalid_grant"},
    )
    page = signed_in.get(f"/credentials/{credential.id}").get_data(as_text=True)
    assert "The last token refresh failed" in page

    # Reauthorising replaces the tokens; runs work again.
    start = post_form(
        signed_in, f"/credentials/{credential.id}", f"/credentials/{credential.id}/reauthorize", {}
    )
    returned = oidc_provider.consent(start.headers["Location"], "alice")
    assert signed_in.get("/credentials/oauth/callback", query_string=returned).status_code == 302
    run = store.credentials_for_run({credential.id})
    assert oidc_provider.token_works(run.bodies[credential.id]["access_token"])
    events = [e.event for e in audit.trail(audit.CREDENTIAL, credential.id)]
    assert events[0] == "reauthorized"


def test_a_callback_with_a_forged_state_is_refused(signed_in, db, oidc_provider, provider_client):
    action = f"/credentials/oauth/{provider_client.id}/authorize"
    start = post_form(
        signed_in, f"/credentials/new/oauth/{provider_client.id}", action, {"name": "Forged"}
    )
    returned = oidc_provider.consent(start.headers["Location"], "mallory")
    returned["state"] = "not-the-state-we-sent"
    response = signed_in.get(
        "/credentials/oauth/callback", query_string=returned, follow_redirects=True
    )
    assert "was not started here" in response.get_data(as_text=True)
    assert db.session.query(Credential).filter_by(name="Forged").count() == 0


def test_a_denied_consent_creates_nothing(signed_in, db, provider_client):
    with signed_in.session_transaction() as session:
        session["oauth_pending"] = {"state": "s1", "client_id": str(provider_client.id)}
    response = signed_in.get(
        "/credentials/oauth/callback",
        query_string={"state": "s1", "error": "access_denied"},
        follow_redirects=True,
    )
    assert "did not authorise access (access_denied)" in response.get_data(as_text=True)


def test_client_settings_are_checked_and_the_secret_is_write_only(db, provider_client):
    admin = factories.user(superuser=True)
    with pytest.raises(Invalid) as caught:
        oauth.save_client(admin, None, {"name": "Test provider"})
    assert caught.value.field == "name"
    oauth.save_client(
        admin,
        provider_client.id,
        {
            "name": "Renamed",
            "authorization_endpoint": provider_client.authorization_endpoint,
            "token_endpoint": provider_client.token_endpoint,
            "client_id": "ferry-tests",
            "client_secret": "",
        },
    )
    assert oauth.decrypt_text(provider_client.client_secret_encrypted) == "client-secret-value"


def test_admin_pages_are_for_superusers_and_never_show_the_client_secret(
    app, client, db, provider_client
):
    person = factories.user()
    log_in(client, person.email, factories.PASSWORD)
    assert client.get("/admin/oauth-clients").status_code == 404
    admin = factories.user(superuser=True)
    client = app.test_client()
    log_in(client, admin.email, factories.PASSWORD)
    for url in ("/admin/oauth-clients", f"/admin/oauth-clients/{provider_client.id}/edit"):
        page = client.get(url)
        assert page.status_code == 200
        assert "client-secret-value" not in page.get_data(as_text=True)
