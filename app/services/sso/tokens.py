"""The back channel of an SSO sign-in: exchanging the one-time code for tokens, and proving
the ID token genuine (signed by one of the provider's keys; issued by it, for Ferry's client
id, not expired, carrying the nonce this browser was given).

The signature is checked with joserfc, the JOSE library Authlib itself builds on (Authlib's
own `authlib.jose` is deprecated in its favour), and the claims with Authlib's OpenID Connect
`CodeIDToken`, the same pair Authlib's OpenID client uses.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.services.errors import Invalid
from app.services.parsing import load_json
from app.services.sso import discovery
from app.services.sso.discovery import Metadata
from app.services.sso.refusal import Refused

# Clocks of two servers drift; a minute either way is the usual allowance.
LEEWAY_S = 60


def exchange_code(
    metadata: Metadata,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> dict:
    """The token endpoint's answer to the code (with the PKCE verifier); Refused otherwise."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers = {"Accept": "application/json"}
    if metadata.token_auth_method == discovery.SECRET_POST:
        data |= {"client_id": client_id, "client_secret": client_secret}
    else:
        # RFC 6749 section 2.3.1: both parts are form-encoded before joining them.
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    try:
        response = httpx.post(
            metadata.token_endpoint,
            data=data,
            headers=headers,
            timeout=discovery.TIMEOUT,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        raise Refused(
            503, "provider_unreachable", "The provider's token endpoint did not answer in time."
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        raise Refused(
            503,
            "provider_unreachable",
            f"The provider's token endpoint could not be reached ({type(error).__name__}).",
        ) from None
    try:
        answer = load_json(response.content[: discovery.MAX_BYTES], field="token")
    except Invalid:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if 400 <= response.status_code < 500:
        # Typically invalid_grant: the code was used already, expired, or the verifier
        # does not match. Starting again is the fix.
        error = str(answer.get("error") or f"HTTP {response.status_code}")[:60]
        raise Refused(400, "code_refused", f"The provider refused the sign-in code ({error}).")
    if response.status_code != 200 or not isinstance(answer.get("id_token"), str):
        raise Refused(
            502,
            "bad_token_response",
            f"The provider's token endpoint answered HTTP {response.status_code} without an "
            "ID token.",
        )
    return answer


def verified_claims(
    metadata: Metadata, client_id: str, id_token: str, nonce: str, access_token: str | None
) -> dict:
    """The claims of a genuine ID token; Refused(502) for anything that does not check out."""
    registry = JWSRegistry(algorithms=list(metadata.algorithms), strict_check_header=False)
    try:
        try:
            token = jwt.decode(
                id_token, KeySet.import_key_set(discovery.key_set(metadata)), registry=registry
            )
        except InvalidKeyIdError:
            # The provider rotated its keys since they were cached: read them once more.
            fresh = discovery.key_set(metadata, fresh=True)
            token = jwt.decode(id_token, KeySet.import_key_set(fresh), registry=registry)
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": metadata.issuer},
                "aud": {"essential": True, "value": client_id},
                "exp": {"essential": True},
                "sub": {"essential": True},
            },
            {"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(leeway=LEEWAY_S)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise Refused(
            502, "invalid_id_token", f"The provider's ID token is not valid ({_why(error)})."
        ) from None
    return dict(claims)


def _why(error: Exception) -> str:
    """A short, safe description: the claim name when there is one, else the error kind."""
    if isinstance(error, JoseError) and getattr(error, "claim", None):
        return f"{error.error}: {error.claim}"
    return getattr(error, "error", None) or type(error).__name__
