"""The OpenID Connect providers a superuser configures: saving them (the client secret
encrypted, write-only), deleting them, and the questions the sign-in pages ask about them
(which to offer, which email domains must use one instead of a password)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import OidcProvider, User, UserIdentity
from app.services import audit
from app.services.encryption import decrypt_text, encrypt_text
from app.services.errors import Invalid, NotFound
from app.services.sso import discovery
from app.services.sso.refusal import Refused

ITEM = "oidc_provider"
CALLBACK_PATH = "/login/sso/{slug}/callback"
MAX_NAME, MAX_SLUG, MAX_URL, MAX_CLIENT_ID, MAX_SECRET = 100, 100, 2000, 500, 2000
MAX_DOMAINS = 50
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class LoginChoice:
    """A "Sign in with <name>" button."""

    name: str
    slug: str


def callback_url(slug: str) -> str:
    """The redirect address to register at the provider."""
    return current_app.config["FERRY_SETTINGS"].base_url + CALLBACK_PATH.format(slug=slug)


def list_providers() -> list[OidcProvider]:
    """Every configured provider, by name."""
    return list(db.session.scalars(select(OidcProvider).order_by(OidcProvider.name)))


def get_provider(provider_id: uuid.UUID) -> OidcProvider:
    """A provider by id, or NotFound."""
    provider = db.session.get(OidcProvider, provider_id)
    if provider is None:
        raise NotFound("There is no such SSO provider.")
    return provider


def enabled_by_slug(slug: str) -> OidcProvider:
    """The enabled provider behind /login/sso/<slug>, or NotFound (disabled ones too)."""
    provider = None
    if 0 < len(slug) <= MAX_SLUG:
        provider = db.session.scalar(
            select(OidcProvider).where(OidcProvider.slug == slug, OidcProvider.enabled)
        )
    if provider is None:
        raise NotFound("There is no such sign-in provider, or it is turned off.")
    return provider


def login_choices() -> list[LoginChoice]:
    """The enabled providers, as buttons for the sign-in page."""
    rows = db.session.execute(
        select(OidcProvider.name, OidcProvider.slug)
        .where(OidcProvider.enabled)
        .order_by(OidcProvider.name)
    )
    return [LoginChoice(name, slug) for name, slug in rows]


def sso_only_provider_for(email: str) -> str | None:
    """The name of the enabled "SSO only" provider for `email`'s domain, else None."""
    domain = ascii_domain(email.rpartition("@")[2])
    if domain is None:
        return None
    for provider in db.session.scalars(
        select(OidcProvider)
        .where(OidcProvider.enabled, OidcProvider.sso_only)
        .order_by(OidcProvider.name)
    ):
        if domain in provider.allowed_domains:
            return provider.name
    return None


def domain_allowed(provider: OidcProvider, email: str) -> bool:
    """True when people with `email` may get an account by signing in with `provider`."""
    domain = ascii_domain(email.rpartition("@")[2])
    return domain is not None and domain in (provider.allowed_domains or [])


def client_secret(provider: OidcProvider) -> str:
    """The decrypted client secret, for the token request only."""
    return decrypt_text(provider.client_secret_encrypted)


def linked_count(provider_id: uuid.UUID) -> int:
    """How many people have signed in with the provider (their links go with it)."""
    return db.session.scalar(
        select(func.count())
        .select_from(UserIdentity)
        .where(UserIdentity.provider_id == provider_id)
    )


def save(actor: User, provider_id: uuid.UUID | None, fields: dict) -> OidcProvider:
    """Create (provider_id None) or change a provider; a blank secret keeps the stored one.

    A new or changed discovery URL is read once before saving, so a typo is caught here and
    not by the first person signing in. The slug, part of the address registered at the
    provider, is made from the first name and stays when the provider is renamed.
    """
    provider = get_provider(provider_id) if provider_id else OidcProvider()
    before = _snapshot(provider)
    name = _text(fields, "name", MAX_NAME, "Give the provider a name people will recognise.")
    if _clash(OidcProvider.name, name, provider.id, insensitive=True):
        raise Invalid("name", f"Another SSO provider is already named “{name}”.")
    if provider_id is None:
        slug = slugify(name)
        if not slug:
            raise Invalid("name", "Use some letters or digits: the name also makes the address.")
        if _clash(OidcProvider.slug, slug, None):
            raise Invalid(
                "name",
                f"Another provider already uses the address /login/sso/{slug}: "
                "choose a different name.",
            )
        provider.slug = slug
    url = discovery.normalise_url(str(fields.get("discovery_url") or ""))
    if not url:
        raise Invalid("discovery_url", "Enter the provider's discovery URL.")
    problem = discovery.address_problem(url) if len(url) <= MAX_URL else "The address is too long."
    if problem is not None:
        raise Invalid("discovery_url", problem)
    if url != provider.discovery_url:
        try:
            discovery.fetch(url, max_age=0)
        except Refused as refused:
            raise Invalid(
                "discovery_url", f"Ferry could not use this discovery URL: {refused.message}"
            ) from None
    client_id = _text(fields, "client_id", MAX_CLIENT_ID, "Enter the client id the provider gave.")
    secret = str(fields.get("client_secret") or "").strip()
    if len(secret) > MAX_SECRET or _CONTROL.search(secret):
        raise Invalid(
            "client_secret", "That client secret is too long or holds control characters."
        )
    if not secret and provider_id is None:
        raise Invalid("client_secret", "Enter the client secret the provider gave.")
    domains = parse_domains(fields.get("allowed_domains") or "")
    sso_only = bool(fields.get("sso_only"))
    if sso_only and not domains:
        raise Invalid(
            "allowed_domains", "“SSO only” applies to the allowed domains: list at least one."
        )
    provider.name, provider.discovery_url, provider.client_id = name, url, client_id
    if secret:
        provider.client_secret_encrypted = encrypt_text(secret)
    provider.allowed_domains, provider.sso_only = domains, sso_only
    provider.enabled = bool(fields.get("enabled"))
    db.session.add(provider)
    db.session.flush()
    changed = sorted(k for k, v in _snapshot(provider).items() if before.get(k) != v)
    if secret and provider_id is not None:
        changed.append("client_secret")  # the name of the field only, never its value
    audit.record(
        ITEM,
        provider.id,
        "updated" if provider_id else "created",
        actor.id,
        {"name": name, "fields": changed} if provider_id else {"name": name, "slug": provider.slug},
    )
    db.session.commit()
    return provider


def delete(actor: User, provider_id: uuid.UUID, typed_name: str) -> str:
    """Delete a provider once its name was typed; people's links to it go too. Returns the name."""
    provider = get_provider(provider_id)
    if " ".join(str(typed_name or "").split()) != provider.name:
        raise Invalid("confirm_name", f"Type “{provider.name}” exactly to delete this provider.")
    audit.record(
        ITEM,
        provider.id,
        "deleted",
        actor.id,
        {"name": provider.name, "linked_people": linked_count(provider.id)},
    )
    db.session.delete(provider)
    db.session.commit()
    return provider.name


def slugify(name: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens: "Acme ID (EU)" -> "acme-id-eu"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:MAX_SLUG].strip("-")


def parse_domains(raw: str | list) -> list[str]:
    """Email domains from text separated by commas, spaces or lines; Invalid names the bad one."""
    items = raw if isinstance(raw, list) else re.split(r"[\s,;]+", str(raw))
    domains: list[str] = []
    for item in items:
        text = str(item).strip().removeprefix("@").rstrip(".")
        if not text:
            continue
        domain = ascii_domain(text)
        if domain is None:
            shown = _CONTROL.sub("", text)[:80]
            raise Invalid(
                "allowed_domains",
                f"“{shown}” is not an email domain: write it like example.org, without @ or "
                "https://.",
            )
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        raise Invalid("allowed_domains", f"List at most {MAX_DOMAINS} domains.")
    return domains


def ascii_domain(text: str) -> str | None:
    """The lower-case ASCII (punycode) form of a domain name, or None when it is not one."""
    text = text.strip().lower()
    if not text or len(text) > 253:
        return None
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = text.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return None
    return text


def _text(fields: dict, key: str, limit: int, missing: str) -> str:
    value = str(fields.get(key) or "").strip()
    if key == "name":
        value = " ".join(value.split())
    if not value:
        raise Invalid(key, missing)
    if len(value) > limit:
        raise Invalid(key, f"Use at most {limit} characters.")
    if _CONTROL.search(value):
        raise Invalid(key, "Remove the control characters.")
    return value


def _clash(column, value: str, own_id: uuid.UUID | None, *, insensitive: bool = False) -> bool:
    condition = func.lower(column) == value.lower() if insensitive else column == value
    found = db.session.scalar(select(OidcProvider.id).where(condition))
    return found is not None and found != own_id


def _snapshot(provider: OidcProvider) -> dict:
    keys = ("name", "discovery_url", "client_id", "allowed_domains", "sso_only", "enabled")
    return {key: getattr(provider, key, None) for key in keys}
