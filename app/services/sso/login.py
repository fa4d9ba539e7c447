"""An SSO sign-in, from the redirect to the provider to the Ferry user it signs in.

`start` builds the authorisation URL with a fresh state, nonce and PKCE verifier, which the
browser session keeps (the web layer stores the dict). `finish` takes that dict back, used
once, checks the state, exchanges the code, proves the ID token and finds the account:

- someone who signed in with this provider before is found by the provider's `sub`;
- otherwise the provider's *verified* email links them to the Ferry user with that email;
- otherwise a user is created when the email's domain is one the provider may admit;
- otherwise, and for disabled users, the sign-in is refused.

Why a verified email is required, and a missing `email_verified` counts as unverified:
linking by email hands an existing account, perhaps a superuser's, to whoever the provider
says owns that address. A provider that has not checked the address (many let people type
any email into their profile) would let anyone claim anyone's account. Providers that do
verify say so (Google, Keycloak, Authentik, Okta); one that never sends the claim can still
sign in people who already linked their account.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import OidcProvider, User, UserIdentity
from app.models.base import utcnow
from app.services import accounts, audit
from app.services.encryption import DecryptionFailed
from app.services.errors import Invalid
from app.services.sso import discovery, providers, tokens
from app.services.sso.refusal import Refused

SCOPES = "openid email profile"
# Signing in at the provider takes a minute or two; a pending sign-in older than this is
# refused, so a state found in an old cookie is worth nothing.
PENDING_MAX_AGE_S = 600
START_MAX_AGE_S = 10.0
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
START_AGAIN = "Start again from the sign-in page."


@dataclass(frozen=True)
class SignedIn:
    """Whom the provider signed in, and where they were going."""

    user: User
    next_url: str | None


def start(slug: str, next_url: str | None) -> tuple[str, dict]:
    """The provider's authorisation URL, and what the browser session must keep until the
    callback. The discovery document is read again unless it was read in the last few
    seconds, so a provider that is down is reported here instead of sending the person to a
    page that will not load, while a crowd (or someone reloading this address in a loop)
    makes Ferry ask the provider at most once per START_MAX_AGE_S."""
    provider = providers.enabled_by_slug(slug)
    metadata = discovery.fetch(provider.discovery_url, max_age=START_MAX_AGE_S)
    pending = {
        "slug": provider.slug,
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(64),  # 86 characters; RFC 7636 wants 43 to 128
        "next": next_url,
        "started": time.time(),
    }
    url = prepare_grant_uri(
        metadata.authorization_endpoint,
        provider.client_id,
        "code",
        redirect_uri=providers.callback_url(provider.slug),
        scope=SCOPES,
        state=pending["state"],
        nonce=pending["nonce"],
        code_challenge=create_s256_code_challenge(pending["verifier"]),
        code_challenge_method="S256",
    )
    return url, pending


def matching_pending(pendings: object, slug: str, state: object) -> dict | None:
    """The pending sign-in whose state the callback brought back, if the session has it."""
    if not isinstance(pendings, list) or not isinstance(state, str) or not state:
        return None
    for pending in pendings:
        if (
            isinstance(pending, dict)
            and pending.get("slug") == slug
            and secrets.compare_digest(str(pending.get("state", "")), state)
        ):
            return pending
    return None


def finish(slug: str, pending: dict | None, args: Mapping[str, str]) -> SignedIn:
    """The user the provider signed in; Refused (or NotFound for an unknown provider).

    `pending` is what `start` returned, already removed from the session by the caller
    (None when the callback's state matched nothing): every pending sign-in is used once.
    Refusals after the state checked out are written to the audit log; a wrong state is
    not, so anyone can send bad callbacks without filling the log.
    """
    provider = providers.enabled_by_slug(slug)
    if pending is None:
        raise Refused(
            400,
            "bad_state",
            "This sign-in was not started in this browser, was already used, or its link was "
            f"changed. {START_AGAIN}",
        )
    if time.time() - float(pending.get("started") or 0) > PENDING_MAX_AGE_S:
        raise Refused(400, "expired", f"This sign-in took longer than 10 minutes. {START_AGAIN}")
    email = None
    try:
        claims = _claims(provider, pending, args)
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        user = _account(provider, claims)
    except Refused as refused:
        db.session.rollback()
        audit.record(
            providers.ITEM,
            provider.id,
            "sso_refused",
            None,
            {"reason": refused.reason, "email": (email or "")[:320] or None},
        )
        db.session.commit()
        raise
    return SignedIn(user, pending.get("next"))


def _claims(provider: OidcProvider, pending: dict, args: Mapping[str, str]) -> dict:
    error = args.get("error")
    if error:
        shown = error if _ERROR_CODE.match(error) else "an error"
        raise Refused(403, "provider_error", f"{provider.name} did not sign you in ({shown}).")
    code = args.get("code")
    if not code or len(code) > 4096:
        raise Refused(400, "no_code", f"{provider.name} sent no sign-in code. {START_AGAIN}")
    metadata = discovery.fetch(provider.discovery_url)
    try:
        secret = providers.client_secret(provider)
    except DecryptionFailed:
        raise Refused(
            503,
            "secret_unreadable",
            f"Sign-in with {provider.name} is misconfigured: its client secret cannot be "
            "decrypted. Tell a Ferry administrator.",
        ) from None
    answer = tokens.exchange_code(
        metadata,
        provider.client_id,
        secret,
        code,
        providers.callback_url(provider.slug),
        pending["verifier"],
    )
    access_token = answer.get("access_token")
    return tokens.verified_claims(
        metadata,
        provider.client_id,
        answer["id_token"],
        pending["nonce"],
        access_token if isinstance(access_token, str) else None,
    )


def _account(provider: OidcProvider, claims: dict) -> User:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= 255 or _CONTROL.search(subject):
        raise Refused(502, "invalid_id_token", "The provider's ID token has an unusable subject.")
    identity = db.session.scalar(
        select(UserIdentity).where(
            UserIdentity.provider_id == provider.id, UserIdentity.subject == subject
        )
    )
    if identity is not None:
        user = _active(db.session.get(User, identity.user_id))
    else:
        email = _verified_email(provider, claims)
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            _active(user)
            identity = _link(provider, user, subject, "sso_linked")
        elif providers.domain_allowed(provider, email):
            # create_user commits the new user on its own; should linking fail after it,
            # the next sign-in finds the user by the same verified email and links then.
            user = accounts.create_user(email, None, name=_name(claims))
            identity = _link(provider, user, subject, "created")
        else:
            domain = email.rpartition("@")[2]
            raise Refused(
                403,
                "domain_not_allowed",
                f"Ferry has no account for {email}, and people at {domain} do not get one by "
                f"signing in with {provider.name}. Ask a Ferry administrator to invite you.",
            )
    identity.last_login_at = utcnow()
    if user.mfa_enabled:
        # The session starts only after Ferry's own code, and that entry names the code;
        # this one says the first step was the provider, not a password.
        audit.record("user", user.id, "sso_verified", user.id, {"provider": provider.name})
    db.session.commit()
    return user


def _link(provider: OidcProvider, user: User, subject: str, event: str) -> UserIdentity:
    if db.session.scalar(
        select(UserIdentity.id).where(
            UserIdentity.user_id == user.id, UserIdentity.provider_id == provider.id
        )
    ):
        # Another account at the provider claims this email: perhaps a recreated account,
        # perhaps someone who changed their email to a colleague's. A person decides.
        raise Refused(
            409,
            "linked_elsewhere",
            f"Your Ferry account is already linked to another {provider.name} account. "
            "Ask a Ferry administrator.",
        )
    identity = UserIdentity(user_id=user.id, provider_id=provider.id, subject=subject)
    try:
        with db.session.begin_nested():
            db.session.add(identity)
    except IntegrityError:
        raise Refused(
            409, "race", f"Another sign-in with the same account was under way. {START_AGAIN}"
        ) from None
    changes = {"provider": provider.name}
    if event == "created":
        changes["via"] = f"sso:{provider.slug}"
    audit.record("user", user.id, event, user.id, changes)
    return identity


def _active(user: User | None) -> User:
    if user is None or user.disabled:
        raise Refused(403, "disabled", "Your Ferry account is disabled. Ask a Ferry administrator.")
    return user


def _verified_email(provider: OidcProvider, claims: dict) -> str:
    raw = claims.get("email")
    if not isinstance(raw, str) or not raw:
        raise Refused(
            403,
            "no_email",
            f"{provider.name} did not tell Ferry your email address, so Ferry cannot find your "
            "account. Ask your identity provider's administrator to release the email claim.",
        )
    try:
        email = accounts.normalise_email(raw[:320])
    except Invalid:
        raise Refused(
            403, "no_email", f"{provider.name} sent an email address Ferry cannot use."
        ) from None
    if claims.get("email_verified") not in (True, "true"):
        raise Refused(
            403,
            "email_unverified",
            f"{provider.name} has not confirmed that {email} is your address, so Ferry cannot "
            "match it to an account. Confirm your email with the provider, or ask a Ferry "
            "administrator.",
        )
    return email


def _name(claims: dict) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = (claims.get("given_name"), claims.get("family_name"))
        name = " ".join(p for p in parts if isinstance(p, str))
    return " ".join(_CONTROL.sub(" ", name).split())[:200]
