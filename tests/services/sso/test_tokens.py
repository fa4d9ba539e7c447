"""The back channel, with answers no honest provider sends: ID tokens signed by the wrong key,
for another client, expired, without the nonce; token endpoints that fail."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from app.services.sso import discovery, tokens
from app.services.sso.refusal import Refused

CLIENT = "ferry-client"
NONCE = "the-nonce"


@pytest.fixture(scope="module")
def signing_key():
    """The provider's signing key."""
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


@pytest.fixture
def metadata(fake_idp, signing_key):
    """A provider whose key set holds `signing_key`."""
    fake_idp.answer("/jwks", KeySet([signing_key]).as_dict(private=False))
    return discovery.Metadata(
        issuer=fake_idp.base_url,
        authorization_endpoint=f"{fake_idp.base_url}/authorize",
        token_endpoint=f"{fake_idp.base_url}/token",
        jwks_uri=f"{fake_idp.base_url}/jwks",
        algorithms=("RS256",),
        token_auth_method=discovery.SECRET_BASIC,
    )


def _token(metadata, key, header=None, **claims) -> str:
    now = int(time.time())
    body = {
        "iss": metadata.issuer,
        "aud": CLIENT,
        "sub": "subject-1",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "ana@example.org",
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(header or {"alg": "RS256", "kid": "k1"}, body, key)


def _refused(metadata, token: str, nonce: str = NONCE) -> Refused:
    with pytest.raises(Refused) as error:
        tokens.verified_claims(metadata, CLIENT, token, nonce, None)
    assert error.value.status == 502 and error.value.reason == "invalid_id_token"
    return error.value


def test_a_genuine_id_token_gives_its_claims(metadata, signing_key):
    claims = tokens.verified_claims(metadata, CLIENT, _token(metadata, signing_key), NONCE, None)
    assert claims["sub"] == "subject-1" and claims["email"] == "ana@example.org"


def test_a_token_signed_by_another_key_is_refused(metadata):
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert "bad_signature" in _refused(metadata, _token(metadata, impostor)).message


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://evil.example"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"aud": ["another-client", "third"]}, "aud"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "exp"),
        ({"sub": None}, "sub"),
        ({"nonce": None}, "nonce"),
        ({"nonce": "replayed-nonce"}, "nonce"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "azp"),
    ],
)
def test_claims_that_do_not_check_out_are_refused(metadata, signing_key, claims, why):
    assert why in _refused(metadata, _token(metadata, signing_key, **claims)).message


def test_a_little_clock_drift_is_allowed(metadata, signing_key):
    token = _token(metadata, signing_key, exp=int(time.time()) - 30)
    assert tokens.verified_claims(metadata, CLIENT, token, NONCE, None)["sub"] == "subject-1"


def test_an_access_token_hash_must_match_when_present(metadata, signing_key):
    token = _token(metadata, signing_key, at_hash="AAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(Refused, match="at_hash"):
        tokens.verified_claims(metadata, CLIENT, token, NONCE, "the-access-token")


def test_unsigned_and_secret_signed_tokens_are_refused(metadata):
    secret_key = OctKey.import_key("the-client-secret-used-as-a-hmac-key-0123456789")
    hmac_token = jwt.encode({"alg": "HS256"}, {"sub": "x"}, secret_key)
    _refused(metadata, hmac_token)
    _head, body, _ = hmac_token.split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    _refused(metadata, f"{none_header}.{body}.")
    for garbage in ("", "not-a-jwt", "a.b.c", "x" * 200_000):
        _refused(metadata, garbage)


def test_rotated_keys_are_read_again_once(metadata, signing_key, fake_idp):
    assert tokens.verified_claims(metadata, CLIENT, _token(metadata, signing_key), NONCE, None)
    new_key = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    fake_idp.answer("/jwks", KeySet([new_key]).as_dict(private=False))
    token = _token(metadata, new_key, header={"alg": "RS256", "kid": "k2"})
    assert tokens.verified_claims(metadata, CLIENT, token, NONCE, None)["sub"] == "subject-1"
    jwks_reads = [r for r in fake_idp.requests if r["path"] == "/jwks"]
    assert len(jwks_reads) == 2, "the first key set was cached, then read once more"


def test_a_key_set_without_keys_is_refused(metadata, signing_key, fake_idp):
    fake_idp.answer("/jwks", {"not": "keys"})
    with pytest.raises(Refused, match="lists no keys"):
        tokens.verified_claims(metadata, CLIENT, _token(metadata, signing_key), NONCE, None)


def test_the_code_goes_with_the_pkce_verifier_and_basic_client_authentication(metadata, fake_idp):
    fake_idp.answer("/token", {"access_token": "at", "id_token": "it", "token_type": "Bearer"})
    answer = tokens.exchange_code(
        metadata, "id:with/odd", "sé cret", "the-code", "https://f/cb", "v"
    )
    assert answer["id_token"] == "it"
    [request] = [r for r in fake_idp.requests if r["path"] == "/token"]
    form = {k: v[0] for k, v in parse_qs(request["body"]).items()}
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://f/cb",
        "code_verifier": "v",
    }
    basic = base64.b64decode(request["headers"]["Authorization"].removeprefix("Basic ")).decode()
    assert basic == "id%3Awith%2Fodd:s%C3%A9%20cret"  # RFC 6749 2.3.1: form-encoded first


def test_client_secret_post_when_the_provider_wants_it(metadata, fake_idp):
    fake_idp.answer("/token", {"access_token": "at", "id_token": "it"})
    post = discovery.Metadata(**{**metadata.__dict__, "token_auth_method": discovery.SECRET_POST})
    tokens.exchange_code(post, "cid", "secret", "code", "https://f/cb", "v")
    [request] = [r for r in fake_idp.requests if r["path"] == "/token"]
    form = {k: v[0] for k, v in parse_qs(request["body"]).items()}
    assert form["client_id"] == "cid" and form["client_secret"] == "secret"
    assert "Authorization" not in request["headers"]


@pytest.mark.parametrize(
    ("status", "body", "expected", "words"),
    [
        (400, {"error": "invalid_grant"}, 400, "(invalid_grant)"),
        (401, b"nope", 400, "(HTTP 401)"),
        (500, {"error": "server_error"}, 502, "HTTP 500"),
        (200, {"access_token": "at"}, 502, "without an ID token"),
        (200, {"access_token": "at", "id_token": 42}, 502, "without an ID token"),
        (200, b"<html>", 502, "without an ID token"),
    ],
)
def test_token_endpoint_failures(metadata, fake_idp, status, body, expected, words):
    fake_idp.answer("/token", body, status=status)
    with pytest.raises(Refused) as error:
        tokens.exchange_code(metadata, "cid", "secret", "code", "https://f/cb", "v")
    assert error.value.status == expected and words in error.value.message
