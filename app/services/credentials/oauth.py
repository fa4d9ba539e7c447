"""OAuth 2 credentials: the clients an instance admin configures, the authorisation-code
flow (with PKCE) that creates a credential, and refreshing expired tokens before a run.

authlib builds the authorisation URL, the PKCE challenge and the token bookkeeping; the two
token requests are plain form POSTs made with httpx.

Long because the flow is one story: a client, its authorisation, the token it yields and
that token's refresh and revocation share the same token bookkeeping; split, each half
would need the other's private helpers.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from dataclasses import dataclass

import httpx
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Credential, OAuthClient, User
from app.services import audit
from app.services.credentials import lookup
from app.services.encryption import decrypt_json, decrypt_text, encrypt_json, encrypt_text
from app.services.errors import Conflict, Invalid, NotFound

OAUTH = "oauth"
CALLBACK_PATH = "/credentials/oauth/callback"
# Refresh a little early, so a token does not expire between the check and the request.
LEEWAY_S = 60
TIMEOUT_S = 15.0
REAUTHORIZE = "reauthorize this credential"
# How the client proves itself at the token endpoint (RFC 6749 section 2.3.1).
SECRET_BASIC, SECRET_POST = "client_secret_basic", "client_secret_post"


class TokenRefreshFailed(Exception):
    """The provider would not refresh the token; the step using it must fail."""


def redirect_uri() -> str:
    """The callback address to register with every provider."""
    return current_app.config["FERRY_SETTINGS"].base_url + CALLBACK_PATH


def get_client(client_id: uuid.UUID | None) -> OAuthClient:
    """An OAuth client, or NotFound."""
    client = db.session.get(OAuthClient, client_id) if client_id else None
    if client is None:
        raise NotFound("There is no such OAuth client.")
    return client


def list_clients() -> list[OAuthClient]:
    """Every configured OAuth client, by name."""
    return list(db.session.scalars(select(OAuthClient).order_by(OAuthClient.name)))


def save_client(actor: User, client_id: uuid.UUID | None, fields: dict[str, str]) -> OAuthClient:
    """Create (client_id None) or change an OAuth client; a blank secret keeps the stored one."""
    client = get_client(client_id) if client_id else OAuthClient()
    name = " ".join(fields.get("name", "").split())
    if not name:
        raise Invalid("name", "Give the client a name people will recognise, e.g. “Google”.")
    clash = db.session.scalar(select(OAuthClient.id).where(OAuthClient.name == name))
    if clash is not None and clash != client.id:
        raise Invalid("name", f"Another OAuth client is already named “{name}”.")
    for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        value = fields.get(key, "").strip()
        if value and not value.startswith(("https://", "http://")):
            raise Invalid(key, "Enter a full address starting with https://.")
        if not value and key != "revocation_endpoint":
            raise Invalid(key, "This endpoint is required.")
        setattr(client, key, value or None)
    client.client_id = fields.get("client_id", "").strip()
    if not client.client_id:
        raise Invalid("client_id", "Enter the client id the provider gave you.")
    if fields.get("client_secret"):
        client.client_secret_encrypted = encrypt_text(fields["client_secret"])
    elif client_id is None:
        raise Invalid("client_secret", "Enter the client secret the provider gave you.")
    client.name = name
    client.scopes = " ".join(fields.get("scopes", "").replace(",", " ").split())
    method = fields.get("token_auth_method") or SECRET_BASIC
    if method not in {SECRET_BASIC, SECRET_POST}:
        raise Invalid("token_auth_method", "Choose how the client authenticates.")
    client.token_auth_method = method
    db.session.add(client)
    db.session.flush()
    audit.record(
        "oauth_client", client.id, "updated" if client_id else "created", actor.id, {"name": name}
    )
    db.session.commit()
    return client


def delete_client(actor: User, client_id: uuid.UUID) -> str:
    """Delete an OAuth client no credential uses; returns its name."""
    client = get_client(client_id)
    in_use = db.session.scalar(
        select(func.count()).select_from(Credential).where(Credential.oauth_client_id == client.id)
    )
    if in_use:
        raise Conflict(
            f"{in_use} credential(s) were authorised through “{client.name}”: their owners "
            "must delete them first."
        )
    audit.record("oauth_client", client.id, "deleted", actor.id, {"name": client.name})
    db.session.delete(client)
    db.session.commit()
    return client.name


@dataclass(frozen=True)
class PendingAuthorization:
    """What the browser session keeps between sending the user to the provider and the
    provider sending them back (the PKCE verifier never leaves the server otherwise)."""

    state: str
    verifier: str
    client_id: str
    name: str
    production: bool
    credential_id: str | None = None

    def as_dict(self) -> dict:
        """For the session cookie."""
        return self.__dict__.copy()


def start_authorization(
    user: User,
    client_id: uuid.UUID,
    name: str,
    production: bool,
    credential: Credential | None = None,
) -> tuple[str, PendingAuthorization]:
    """The provider's authorisation URL to send the user to, and what to remember."""

    client = get_client(client_id)
    if credential is None:
        name = lookup.valid_name(user.id, name, None)
    else:
        lookup.require_owner(user, credential)
        name = credential.name
    pending = PendingAuthorization(
        state=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        client_id=str(client.id),
        name=name,
        production=production,
        credential_id=str(credential.id) if credential else None,
    )
    url = prepare_grant_uri(
        client.authorization_endpoint,
        client.client_id,
        "code",
        redirect_uri=redirect_uri(),
        scope=client.scopes or None,
        state=pending.state,
        code_challenge=create_s256_code_challenge(pending.verifier),
        code_challenge_method="S256",
    )
    return url, pending


def complete_authorization(
    user: User,
    pending: dict | None,
    state: str | None,
    code: str | None,
    error: str | None = None,
) -> Credential:
    """Exchange the returned code for tokens and store them as a new credential (or as the
    new body of the credential being reauthorised)."""

    if not pending or not state or not secrets.compare_digest(pending.get("state", ""), state):
        raise Invalid(
            "state", "This authorisation was not started here or has expired: start again."
        )
    if error:
        raise Invalid("code", f"The provider did not authorise access ({error}).")
    if not code:
        raise Invalid("code", "The provider sent no authorisation code: start again.")
    client = get_client(uuid.UUID(pending["client_id"]))
    token = _token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(),
            "code_verifier": pending["verifier"],
        },
    )
    if isinstance(token, str):
        raise Invalid("code", f"The provider refused the authorisation code ({token}).")
    body = _body_from(token, {})
    if pending.get("credential_id"):
        credential = lookup.get_credential(uuid.UUID(pending["credential_id"]))
        lookup.require_owner(user, credential)
        credential.body_encrypted = encrypt_json(body)
        credential.oauth_client_id = client.id
        audit.record(
            audit.CREDENTIAL, credential.id, "reauthorized", user.id, {"client": client.name}
        )
    else:
        credential = Credential(
            user_id=user.id,
            name=lookup.valid_name(user.id, pending["name"], None),
            schema=OAUTH,
            oauth_client_id=client.id,
            body_encrypted=encrypt_json(body),
            production=bool(pending.get("production")),
        )
        db.session.add(credential)
        db.session.flush()
        audit.record(
            audit.CREDENTIAL,
            credential.id,
            "created",
            user.id,
            {"name": credential.name, "type": OAUTH, "client": client.name},
        )
    db.session.commit()
    return credential


def is_expired(body: dict) -> bool:
    """True when the access token expires within the leeway (no expiry: never)."""
    return bool(OAuth2Token.from_dict(dict(body)).is_expired(leeway=LEEWAY_S))


def fresh_body(credential: Credential, body: dict) -> dict:
    """The credential's token body, refreshed first if it expired; TokenRefreshFailed (after
    an audit entry) when the provider refuses."""
    if not is_expired(body):
        return body
    # Lock the row: two runs starting together must not both spend the refresh token.
    locked = db.session.scalar(
        select(Credential)
        .where(Credential.id == credential.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    body = decrypt_json(locked.body_encrypted)
    if not is_expired(body):
        return body  # another run refreshed it while we waited for the lock
    client = db.session.get(OAuthClient, locked.oauth_client_id)
    outcome = "no refresh token was issued"
    if body.get("refresh_token"):
        outcome = _token_request(
            client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        )
    if isinstance(outcome, str):
        audit.record(audit.CREDENTIAL, locked.id, "token_refresh_failed", None, {"error": outcome})
        db.session.commit()
        raise TokenRefreshFailed(
            f"The OAuth token of credential “{locked.name}” has expired and could not be "
            f"refreshed ({outcome}): {REAUTHORIZE}."
        )
    body = _body_from(outcome, body)
    locked.body_encrypted = encrypt_json(body)
    audit.record(audit.CREDENTIAL, locked.id, "token_refreshed", None, {})
    db.session.commit()
    return body


def run_configuration(body: dict) -> dict:
    """What a step receives: the access token only (the refresh token never leaves Ferry)."""
    configuration = {"access_token": body.get("access_token")}
    if body.get("expires_at") is not None:
        configuration["expires_at"] = body["expires_at"]
    return configuration


def revoke_quietly(credential: Credential) -> None:
    """Ask the provider to revoke the tokens of a credential being deleted; best effort."""
    client = db.session.get(OAuthClient, credential.oauth_client_id)
    if client is None or not client.revocation_endpoint:
        return
    body = decrypt_json(credential.body_encrypted)
    token = body.get("refresh_token") or body.get("access_token")
    if not token:
        return
    data, auth = _client_auth(client, {"token": token})
    # Best effort: the credential is deleted either way, and the token expires on its own.
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(client.revocation_endpoint, data=data, auth=auth, timeout=5.0)


def _body_from(token: dict, previous: dict) -> dict:
    token = OAuth2Token.from_dict(dict(token))
    body = {
        "access_token": token["access_token"],
        "token_type": token.get("token_type", "Bearer"),
        "scope": token.get("scope", previous.get("scope", "")),
        "expires_at": token.get("expires_at"),
    }
    # Providers may keep the old refresh token valid and send none with a refresh.
    refresh = token.get("refresh_token") or previous.get("refresh_token")
    if refresh:
        body["refresh_token"] = refresh
    return body


def _client_auth(client: OAuthClient, data: dict) -> tuple[dict, tuple[str, str] | None]:
    secret = decrypt_text(client.client_secret_encrypted)
    if client.token_auth_method == SECRET_POST:
        return {**data, "client_id": client.client_id, "client_secret": secret}, None
    return data, (client.client_id, secret)


def _token_request(client: OAuthClient, data: dict) -> dict | str:
    """The token endpoint's answer, or a short reason (the OAuth error code) it failed."""
    data, auth = _client_auth(client, data)
    try:
        response = httpx.post(
            client.token_endpoint,
            data=data,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as error:
        return f"the token endpoint could not be reached: {type(error).__name__}"
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict) or "error" in answer:
        code = answer.get("error") if isinstance(answer, dict) else None
        return str(code or f"HTTP {response.status_code}")[:100]
    if not answer.get("access_token"):
        return "the answer held no access token"
    return answer
