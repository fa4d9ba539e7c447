"""SSO sign-ins against a real provider process: the authorisation request (state, nonce,
PKCE), the checks on the way back, and which Ferry account the person gets, if any."""

from __future__ import annotations

import base64
import hashlib

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, User, UserIdentity
from app.services import accounts
from app.services.errors import NotFound
from app.services.sso import discovery, login, providers
from app.services.sso.refusal import Refused
from tests.sso_support import CLIENT_ID, consent, provider_fields, query_of
from tests.support import free_port

VERIFIED = {"email_verified": True}


def _refusal(slug, pending, args) -> Refused:
    with pytest.raises(Refused) as error:
        login.finish(slug, pending, args)
    return error.value


def _refusals(db) -> list[dict]:
    return [
        e.changes
        for e in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.event == "sso_refused")
            .order_by(AuditEvent.inserted_at)
        )
    ]


def _user_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_the_authorisation_request_carries_state_nonce_and_an_s256_challenge(
    db, sso_provider, oidc_provider
):
    url, pending = login.start("acme-id", "/projects")
    query = query_of(url)
    assert url.startswith(oidc_provider.base_url + "/oauth2/authorize?")
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["scope"] == "openid email profile"
    assert query["redirect_uri"] == "http://127.0.0.1:5000/login/sso/acme-id/callback"
    assert query["state"] == pending["state"] and query["nonce"] == pending["nonce"]
    digest = hashlib.sha256(pending["verifier"].encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["code_challenge_method"] == "S256"
    assert pending["verifier"] not in url and 43 <= len(pending["verifier"]) <= 128
    assert pending["next"] == "/projects"
    _other_url, other = login.start("acme-id", None)
    assert {other["state"], other["nonce"], other["verifier"]}.isdisjoint(pending.values())


def test_unknown_and_disabled_providers_are_not_found(db, admin, oidc_provider, sso_provider):
    for slug in ("nope", "", "x" * 500, "../admin", "acme-id/../x"):
        with pytest.raises(NotFound):
            login.start(slug, None)
    providers.save(admin, sso_provider.id, provider_fields(oidc_provider, enabled=False))
    with pytest.raises(NotFound):
        login.start("acme-id", None)


def test_a_provider_that_does_not_answer_is_reported_at_the_start(db, admin, fake_idp):
    saved = providers.save(
        admin,
        None,
        {
            "name": "Flaky ID",
            "discovery_url": fake_idp.discovery_url,
            "client_id": "c",
            "client_secret": "s",
            "enabled": True,
        },
    )
    assert login.start(saved.slug, None)[0].startswith(fake_idp.base_url)
    fake_idp.answer("/.well-known/openid-configuration", {"error": "down"}, status=503)
    # Within a few seconds of the last read, the document read then serves the start.
    assert login.start(saved.slug, None)[0].startswith(fake_idp.base_url)
    discovery.forget()  # ...after them, it is read again
    with pytest.raises(Refused) as error:
        login.start(saved.slug, None)
    assert error.value.status == 502 and "HTTP 503" in error.value.message
    saved.discovery_url = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    with pytest.raises(Refused) as error:
        login.start(saved.slug, None)
    assert error.value.status == 503 and "could not be reached" in error.value.message


def test_first_sign_in_links_the_existing_user_with_the_verified_email(
    db, sso_provider, oidc_provider
):
    person = accounts.create_user("ana@other.example", None, name="Ana")
    pending, args, _ = consent(
        oidc_provider, "acme-id", "sub-ana", email="Ana@Other.example", **VERIFIED
    )
    signed_in = login.finish("acme-id", pending, args)
    assert signed_in.user.id == person.id, "linking needs no allowed domain"
    identity = db.session.scalar(select(UserIdentity).where(UserIdentity.subject == "sub-ana"))
    assert identity.user_id == person.id and identity.last_login_at is not None
    linked = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "sso_linked"))
    assert linked.item_id == person.id and linked.changes == {"provider": "Acme ID"}


def test_later_sign_ins_find_the_person_by_subject_not_email(db, sso_provider, oidc_provider):
    person = accounts.create_user("ben@example.org", None)
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-ben", email=person.email, **VERIFIED)
    login.finish("acme-id", pending, args)
    # Their email changed at the provider (and is not verified there yet): still them.
    pending, args, _ = consent(
        oidc_provider, "acme-id", "sub-ben", email="b@new.example", email_verified=False
    )
    assert login.finish("acme-id", pending, args).user.id == person.id
    # Someone else claiming Ben's email with another subject does not get his account.
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-eve", email=person.email, **VERIFIED)
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 409 and "already linked" in refusal.message


def test_people_at_an_allowed_domain_get_an_account(db, sso_provider, oidc_provider):
    pending, args, _ = consent(
        oidc_provider,
        "acme-id",
        "sub-cleo",
        email="cleo@example.org",
        name="Cleo\x00 Moreau",
        **VERIFIED,
    )
    user = login.finish("acme-id", pending, args).user
    assert user.email == "cleo@example.org" and user.name == "Cleo Moreau"
    assert user.password_hash is None and not user.is_superuser
    created = db.session.scalar(
        select(AuditEvent).where(AuditEvent.item_type == "user", AuditEvent.event == "created")
    )
    assert created.item_id == user.id and created.changes["via"] == "sso:acme-id"


def test_people_at_other_domains_are_refused_and_the_refusal_is_audited(
    db, sso_provider, oidc_provider
):
    before = _user_count(db)
    pending, args, _ = consent(
        oidc_provider, "acme-id", "sub-dan", email="dan@elsewhere.example", **VERIFIED
    )
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 403 and "people at elsewhere.example" in refusal.message
    assert _user_count(db) == before
    assert _refusals(db) == [{"reason": "domain_not_allowed", "email": "dan@elsewhere.example"}]


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "fay@example.org"},  # the provider does not say: unverified
        {"email": "fay@example.org", "email_verified": False},
        {"email": "fay@example.org", "email_verified": "yes please"},
    ],
)
def test_an_unverified_email_neither_links_nor_creates(db, sso_provider, oidc_provider, claims):
    existing = accounts.create_user("fay@example.org", None)
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-fay", **claims)
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 403 and "has not confirmed" in refusal.message
    assert db.session.scalar(select(UserIdentity.id)) is None
    db.session.delete(existing)
    db.session.commit()
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-fay", **claims)
    assert _refusal("acme-id", pending, args).reason == "email_unverified"
    assert db.session.scalar(select(User.id).where(User.email == "fay@example.org")) is None


@pytest.mark.parametrize("email", [None, "", "not-an-email", "x@" + "y" * 400 + ".org"])
def test_a_missing_or_unusable_email_is_refused(db, sso_provider, oidc_provider, email):
    claims = {"email_verified": True} if email is None else {"email": email, **VERIFIED}
    pending, args, _ = consent(oidc_provider, "acme-id", f"sub-{email}"[:40], **claims)
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 403 and refusal.reason == "no_email"


def test_disabled_users_are_refused_by_email_and_by_subject(db, sso_provider, oidc_provider):
    person = accounts.create_user("gil@example.org", None)
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-gil", email=person.email, **VERIFIED)
    login.finish("acme-id", pending, args)
    person.disabled = True
    db.session.commit()
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-gil")
    assert _refusal("acme-id", pending, args).reason == "disabled"
    other = accounts.create_user("hal@example.org", None)
    other.disabled = True
    db.session.commit()
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-hal", email=other.email, **VERIFIED)
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 403 and "disabled" in refusal.message
    assert (
        db.session.scalar(select(UserIdentity.id).where(UserIdentity.subject == "sub-hal")) is None
    )


def test_a_callback_without_its_pending_sign_in_is_refused_and_not_audited(
    db, sso_provider, oidc_provider
):
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-ivy", email="i@example.org")
    assert login.matching_pending([pending], "acme-id", args["state"]) is pending
    assert login.matching_pending([pending], "acme-id", args["state"] + "x") is None
    assert login.matching_pending([pending], "other-slug", args["state"]) is None
    assert login.matching_pending([pending], "acme-id", None) is None
    assert login.matching_pending("garbage", "acme-id", args["state"]) is None
    assert login.matching_pending([7, None], "acme-id", args["state"]) is None
    refusal = _refusal("acme-id", None, args)
    assert refusal.status == 400 and "already used" in refusal.message
    assert _refusals(db) == []


def test_a_pending_sign_in_expires_after_ten_minutes(db, sso_provider, oidc_provider):
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-jo", email="jo@example.org")
    pending["started"] -= login.PENDING_MAX_AGE_S + 1
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 400 and "10 minutes" in refusal.message


def test_an_error_from_the_provider_is_shown_by_its_code_only(db, sso_provider, oidc_provider):
    _url, pending = login.start("acme-id", None)
    args = {"state": pending["state"], "error": "access_denied"}
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 403 and "(access_denied)" in refusal.message
    crafted = {"state": pending["state"], "error": "<script>alert(1)</script>"}
    assert "<script>" not in _refusal("acme-id", pending, crafted).message


@pytest.mark.parametrize("code", [None, "", "c" * 5000])
def test_a_missing_code_is_refused(db, sso_provider, oidc_provider, code):
    _url, pending = login.start("acme-id", None)
    args = {"state": pending["state"]} | ({} if code is None else {"code": code})
    assert _refusal("acme-id", pending, args).reason == "no_code"


def test_a_code_is_good_once(db, sso_provider, oidc_provider):
    pending, args, _ = consent(
        oidc_provider, "acme-id", "sub-kim", email="k@example.org", **VERIFIED
    )
    login.finish("acme-id", pending, args)
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 400 and "refused the sign-in code" in refusal.message


def test_a_forged_code_is_refused(db, sso_provider, oidc_provider):
    _url, pending = login.start("acme-id", None)
    refusal = _refusal("acme-id", pending, {"state": pending["state"], "code": "forged"})
    assert refusal.status == 400 and refusal.reason == "code_refused"


def test_an_id_token_for_another_nonce_is_refused(db, sso_provider, oidc_provider):
    pending, args, _ = consent(
        oidc_provider, "acme-id", "sub-lou", email="l@example.org", **VERIFIED
    )
    refusal = _refusal("acme-id", {**pending, "nonce": "another-nonce"}, args)
    assert refusal.status == 502 and "nonce" in refusal.message
    assert db.session.scalar(select(UserIdentity.id)) is None


def test_a_provider_that_went_down_before_the_callback(db, sso_provider, oidc_provider):
    pending, args, _ = consent(
        oidc_provider, "acme-id", "sub-max", email="m@example.org", **VERIFIED
    )
    # Nothing listens there any more, and the document read at the start has aged out.
    sso_provider.discovery_url = f"http://127.0.0.1:{free_port()}{discovery.WELL_KNOWN}"
    discovery.forget()
    refusal = _refusal("acme-id", pending, args)
    assert refusal.status == 503 and "could not be reached" in refusal.message
    assert _refusals(db)[-1]["reason"] == "provider_unreachable"


def test_a_user_whose_deletion_is_pending_is_refused(db, sso_provider, oidc_provider):
    from app.services.deletions import users as deletion

    admin = accounts.create_user("root-sso@example.org", None, superuser=True)
    person = accounts.create_user("ida@example.org", None)
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-ida", email=person.email, **VERIFIED)
    login.finish("acme-id", pending, args)
    deletion.request_deletion(admin, person.id, person.email)
    pending, args, _ = consent(oidc_provider, "acme-id", "sub-ida")
    assert _refusal("acme-id", pending, args).reason == "disabled"
