"""Configuring SSO providers: the secret encrypted and write-only, names and addresses unique,
discovery URLs checked when saved, email domains read strictly, deletion by typed name."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from app.models import AuditEvent, OidcProvider, UserIdentity
from app.services.encryption import decrypt_text
from app.services.errors import Invalid
from app.services.sso import providers
from tests import factories
from tests.sso_support import CLIENT_SECRET, provider_fields
from tests.support import free_port


def _entries(db, item_id):
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.item_id == item_id).order_by(AuditEvent.inserted_at)
        )
    )


def test_a_new_provider_keeps_its_secret_encrypted_and_out_of_the_audit_log(db, sso_provider):
    assert sso_provider.slug == "acme-id"
    assert CLIENT_SECRET.encode() not in bytes(sso_provider.client_secret_encrypted)
    assert decrypt_text(sso_provider.client_secret_encrypted) == CLIENT_SECRET
    assert sso_provider.allowed_domains == ["example.org"] and sso_provider.enabled
    [created] = _entries(db, sso_provider.id)
    assert created.event == "created" and CLIENT_SECRET not in str(created.changes)
    assert providers.callback_url("acme-id") == "http://127.0.0.1:5000/login/sso/acme-id/callback"


def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(
    db, admin, oidc_provider, sso_provider
):
    fields = provider_fields(oidc_provider, client_secret="", name="Acme ID (EU)")
    providers.save(admin, sso_provider.id, fields)
    assert decrypt_text(sso_provider.client_secret_encrypted) == CLIENT_SECRET
    assert sso_provider.slug == "acme-id", "renaming keeps the address registered at the provider"
    providers.save(admin, sso_provider.id, {**fields, "client_secret": "rotated-secret"})
    assert decrypt_text(sso_provider.client_secret_encrypted) == "rotated-secret"
    updates = [e for e in _entries(db, sso_provider.id) if e.event == "updated"]
    assert updates[0].changes["fields"] == ["name"]
    assert updates[1].changes["fields"] == ["client_secret"]
    assert "rotated-secret" not in str([e.changes for e in updates])


def test_a_new_provider_needs_a_secret(db, admin, oidc_provider):
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, provider_fields(oidc_provider, client_secret="  "))
    assert error.value.field == "client_secret"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("acme id", "already named"),  # names are unique whatever their case
        ("Acme-ID!", "/login/sso/acme-id"),  # a different name, the same address
        ("???", "letters or digits"),
        ("", "Give the provider a name"),
        ("x" * 101, "at most 100"),
        ("Acme\x00Evil", "control characters"),
    ],
)
def test_names_must_be_usable_and_unique(db, admin, oidc_provider, sso_provider, name, message):
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, provider_fields(oidc_provider, name=name))
    assert error.value.field == "name" and message in error.value.message
    assert [p.name for p in providers.list_providers()] == ["Acme ID"]


def test_non_ascii_names_make_ascii_addresses(db, admin, oidc_provider):
    saved = providers.save(admin, None, provider_fields(oidc_provider, name="Ministère Santé"))
    assert saved.slug == "ministere-sante"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the provider's discovery URL"),
        ("ftp://idp.example.org", "https://"),
        ("http://idp.example.org", "only for a provider on this machine"),
        ("https://user:pw@idp.example.org", "user name or password"),
        ("https://idp.example.org:99999", "malformed"),
        ("https://idp.example.org/#x", "fragment"),
        ("https://" + "a" * 2000 + ".org", "too long"),
    ],
)
def test_discovery_urls_that_are_refused_before_any_request(db, admin, oidc_provider, url, message):
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, provider_fields(oidc_provider, discovery_url=url))
    assert error.value.field == "discovery_url" and message in error.value.message


def test_production_refuses_plain_http_even_on_loopback(app, db, admin, oidc_provider):
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, env="production")
    try:
        with pytest.raises(Invalid) as error:
            providers.save(admin, None, provider_fields(oidc_provider))
    finally:
        app.config["FERRY_SETTINGS"] = settings
    assert "in production" in error.value.message


def test_the_issuer_address_is_enough(db, admin, oidc_provider):
    saved = providers.save(
        admin, None, provider_fields(oidc_provider, discovery_url=oidc_provider.base_url + "/")
    )
    assert saved.discovery_url == oidc_provider.discovery_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{free_port}",  # filled in the test: ids must match across workers
        "https://a..b",
        "https://" + "a" * 300 + ".org",
        "https://exa mple.invalid",
    ],
)
def test_a_discovery_url_nobody_answers_is_refused_with_the_reason(db, admin, oidc_provider, url):
    url = url.replace("{free_port}", str(free_port()))
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, provider_fields(oidc_provider, discovery_url=url))
    assert "could not be reached" in error.value.message


def test_a_discovery_url_without_a_document_is_refused(db, admin, oidc_provider):
    url = oidc_provider.base_url + "/no/such/issuer"
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, provider_fields(oidc_provider, discovery_url=url))
    assert "answered HTTP 404" in error.value.message


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"issuer": "https://someone-else.example"}, "names the issuer"),
        ({"token_endpoint": None}, "has no token_endpoint"),
        ({"jwks_uri": "http://keys.example.org/jwks"}, "jwks_uri: Use https://"),
        ({"id_token_signing_alg_values_supported": ["HS256", "none"]}, "public-key algorithm"),
        ({"code_challenge_methods_supported": ["plain"]}, "PKCE with S256"),
        ({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}, "no client secret"),
    ],
)
def test_discovery_documents_ferry_cannot_use_are_refused(
    db, admin, oidc_provider, fake_idp, document, message
):
    fake_idp.answer("/.well-known/openid-configuration", fake_idp.document(**document))
    fields = provider_fields(oidc_provider, discovery_url=fake_idp.discovery_url)
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, fields)
    assert error.value.field == "discovery_url" and message in error.value.message


@pytest.mark.parametrize(
    "body", [b"<html>not json</html>", b"[1, 2]", b"{" * 100 + b"}" * 100, b"x" * 300_000]
)
def test_discovery_answers_that_are_not_a_document_are_refused(
    db, admin, oidc_provider, fake_idp, body
):
    fake_idp.answer("/.well-known/openid-configuration", body)
    fields = provider_fields(oidc_provider, discovery_url=fake_idp.discovery_url)
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, fields)
    assert "not a JSON object" in error.value.message or "too large" in error.value.message


def test_a_redirecting_discovery_url_is_not_followed(db, admin, oidc_provider, fake_idp):
    fake_idp.answer(
        "/.well-known/openid-configuration", b"", 302, {"Location": oidc_provider.discovery_url}
    )
    fields = provider_fields(oidc_provider, discovery_url=fake_idp.discovery_url)
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, fields)
    assert "HTTP 302" in error.value.message


def test_an_unchanged_discovery_url_is_not_read_again(db, admin, oidc_provider, sso_provider):
    # Turning a provider off must work while it is down.
    oidc_provider_fields = provider_fields(oidc_provider, enabled=False, client_secret="")
    oidc_provider.process.send_signal(19)  # SIGSTOP: the provider stops answering
    try:
        providers.save(admin, sso_provider.id, oidc_provider_fields)
    finally:
        oidc_provider.process.send_signal(18)  # SIGCONT
    assert not sso_provider.enabled


def test_email_domains_are_read_strictly(db, admin, oidc_provider):
    raw = "Example.ORG, @ngo.example\nexample.org;bücher.example"
    saved = providers.save(admin, None, provider_fields(oidc_provider, allowed_domains=raw))
    assert saved.allowed_domains == ["example.org", "ngo.example", "xn--bcher-kva.example"]


@pytest.mark.parametrize(
    "raw",
    ["https://example.org", "example", "exa mple.org@x", "-bad.org", "a..b", "x\x00.org", "é"],
)
def test_things_that_are_not_domains_are_refused(db, admin, oidc_provider, raw):
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, provider_fields(oidc_provider, allowed_domains=raw))
    assert error.value.field == "allowed_domains" and "not an email domain" in error.value.message


def test_at_most_fifty_domains(db, admin, oidc_provider):
    raw = " ".join(f"d{n}.example.org" for n in range(51))
    with pytest.raises(Invalid, match="at most 50"):
        providers.save(admin, None, provider_fields(oidc_provider, allowed_domains=raw))


def test_sso_only_needs_domains(db, admin, oidc_provider):
    with pytest.raises(Invalid) as error:
        providers.save(
            admin, None, provider_fields(oidc_provider, allowed_domains="", sso_only=True)
        )
    assert error.value.field == "allowed_domains"


@pytest.mark.parametrize(("key", "value"), [("client_id", ""), ("client_id", "x" * 501)])
def test_client_ids_must_be_given_and_short(db, admin, oidc_provider, key, value):
    with pytest.raises(Invalid) as error:
        providers.save(admin, None, provider_fields(oidc_provider, **{key: value}))
    assert error.value.field == key


def test_sso_only_applies_to_enabled_providers_and_their_domains(
    db, admin, oidc_provider, sso_provider
):
    assert providers.sso_only_provider_for("ana@example.org") is None
    fields = provider_fields(oidc_provider, sso_only=True, client_secret="")
    providers.save(admin, sso_provider.id, fields)
    assert providers.sso_only_provider_for("Ana@Example.org") == "Acme ID"
    assert providers.sso_only_provider_for("ana@other.example") is None
    assert providers.sso_only_provider_for("not an email") is None
    providers.save(admin, sso_provider.id, {**fields, "enabled": False})
    assert providers.sso_only_provider_for("ana@example.org") is None


def test_login_choices_list_enabled_providers_only(db, admin, oidc_provider, sso_provider):
    providers.save(admin, None, provider_fields(oidc_provider, name="Beta ID", enabled=False))
    assert [c.name for c in providers.login_choices()] == ["Acme ID"]


def test_deleting_asks_for_the_exact_name_and_takes_the_links_along(db, admin, sso_provider):
    person = factories.user()
    db.session.add(UserIdentity(user_id=person.id, provider_id=sso_provider.id, subject="s1"))
    db.session.commit()
    with pytest.raises(Invalid) as error:
        providers.delete(admin, sso_provider.id, "acme id")
    assert error.value.field == "confirm_name"
    assert db.session.get(OidcProvider, sso_provider.id) is not None
    provider_id = sso_provider.id
    assert providers.delete(admin, provider_id, " Acme  ID ") == "Acme ID"
    db.session.expire_all()
    assert db.session.get(OidcProvider, provider_id) is None
    assert db.session.scalar(select(UserIdentity.id)) is None
    deleted = _entries(db, provider_id)[-1]
    assert deleted.event == "deleted" and deleted.changes["linked_people"] == 1
