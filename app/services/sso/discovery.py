"""Reading an OpenID provider's discovery document and signing keys, with a short in-process
cache, and the rule for which addresses Ferry will talk to a provider at.

Why https only (http just for loopback outside production): the discovery document names
the keys that prove who signed an ID token, and the token request carries the client secret
and the one-time code. Over plain http anyone on the path could swap the keys or read the
secret. A provider on 127.0.0.1 or ::1 never leaves the machine, which is how developers and
the tests run one without certificates; production refuses even that, so a setting copied
from a laptop cannot weaken a real deployment.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from flask import current_app

from app.services.errors import Invalid
from app.services.parsing import load_json
from app.services.sso.refusal import Refused

WELL_KNOWN = "/.well-known/openid-configuration"
TIMEOUT_S = 5.0
TIMEOUT = httpx.Timeout(TIMEOUT_S, connect=3.0)
# Documents and key sets are a few KB; a provider sending more is not one to trust.
MAX_BYTES = 256 * 1024
# The sign-in reads the document twice within seconds (redirect, then callback) and the
# keys on each callback; five minutes spares those requests yet follows a key rotation soon.
CACHE_S = 300.0
# Asymmetric algorithms only: "none" proves nothing, and HS256 would sign with the client
# secret, which Ferry keeps to itself.
SIGNING_ALGORITHMS = frozenset(
    ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
)
SECRET_BASIC, SECRET_POST = "client_secret_basic", "client_secret_post"

_cache: dict[str, tuple[float, object]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Metadata:
    """What Ferry uses of a provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_auth_method: str


def normalise_url(raw: str) -> str:
    """The discovery URL for what an admin typed: the issuer URL gets the well-known path."""
    url = raw.strip()
    if url and not url.endswith(WELL_KNOWN):
        url = url.rstrip("/") + WELL_KNOWN
    return url


def address_problem(url: str) -> str | None:
    """Why Ferry will not talk to a provider at `url`, or None when it will."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return "The address is malformed."
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "Enter a full address starting with https://."
    if parts.username is not None or parts.password is not None:
        return "The address must not hold a user name or password."
    if parts.fragment:
        return "The address must not end with a #fragment."
    if parts.scheme == "http":
        if current_app.config["FERRY_SETTINGS"].is_production:
            return "Use https://: in production Ferry talks to identity providers over TLS only."
        if not _is_loopback(parts.hostname):
            return "Use https:// (plain http is allowed only for a provider on this machine)."
    return None


def fetch(discovery_url: str, *, max_age: float = CACHE_S) -> Metadata:
    """The provider's metadata, read again when the cached copy is older than `max_age`
    seconds (0: always); Refused (502/503) when the provider does not answer or its document
    is unusable."""
    cached = _cached(("discovery", discovery_url), max_age)
    if cached is not None:
        return cached
    metadata = _parse(discovery_url, _get_json(discovery_url, "discovery document"))
    _store(("discovery", discovery_url), metadata)
    return metadata


def key_set(metadata: Metadata, *, fresh: bool = False) -> dict:
    """The provider's public keys (a JWKS document), cached like the metadata."""
    cached = None if fresh else _cached(("jwks", metadata.jwks_uri), CACHE_S)
    if cached is not None:
        return cached
    document = _get_json(metadata.jwks_uri, "key set")
    if not isinstance(document.get("keys"), list):
        raise Refused(502, "bad_jwks", "The provider's key set lists no keys.")
    _store(("jwks", metadata.jwks_uri), document)
    return document


def forget() -> None:
    """Empty the cache (tests, and nothing else, need a clean slate)."""
    with _cache_lock:
        _cache.clear()


def _parse(discovery_url: str, document: dict) -> Metadata:
    issuer = document.get("issuer")
    expected = discovery_url.removesuffix(WELL_KNOWN).rstrip("/")
    if not isinstance(issuer, str) or issuer.rstrip("/") != expected:
        # OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer
        # it was published under, or a provider could speak for another.
        raise Refused(
            502,
            "bad_discovery",
            f"The discovery document names the issuer {str(issuer)[:200]!r}, not {expected!r}.",
        )
    endpoints = {}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(key)
        if not isinstance(value, str) or not value:
            raise Refused(502, "bad_discovery", f"The discovery document has no {key}.")
        problem = address_problem(value)
        if problem is not None:
            raise Refused(502, "bad_discovery", f"The discovery document's {key}: {problem}")
        endpoints[key] = value
    advertised = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in _strings(advertised) if a in SIGNING_ALGORITHMS)
    if not algorithms:
        raise Refused(
            502,
            "bad_discovery",
            "The provider signs ID tokens only with algorithms Ferry does not accept "
            "(it needs RS256, ES256 or another public-key algorithm).",
        )
    challenges = document.get("code_challenge_methods_supported")
    if challenges is not None and "S256" not in _strings(challenges):
        raise Refused(502, "bad_discovery", "The provider does not support PKCE with S256.")
    methods = _strings(document.get("token_endpoint_auth_methods_supported") or [SECRET_BASIC])
    if SECRET_BASIC in methods:
        method = SECRET_BASIC
    elif SECRET_POST in methods:
        method = SECRET_POST
    else:
        raise Refused(
            502,
            "bad_discovery",
            "The provider accepts no client secret at its token endpoint "
            "(Ferry needs client_secret_basic or client_secret_post).",
        )
    return Metadata(issuer=issuer, algorithms=algorithms, token_auth_method=method, **endpoints)


def _get_json(url: str, what: str) -> dict:
    """GET a JSON object; redirects are not followed (they could leave https)."""
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise Refused(502, "bad_discovery", f"The provider's {what} is too large.")
    except httpx.TimeoutException:
        raise Refused(
            503, "provider_unreachable", f"The provider did not answer within {TIMEOUT_S:g} s."
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        # ValueError: httpx refuses some host names only when it encodes them (a..b).
        raise Refused(
            503,
            "provider_unreachable",
            f"The provider could not be reached ({type(error).__name__}).",
        ) from None
    if response.status_code != 200:
        raise Refused(
            502,
            "bad_discovery",
            f"The provider answered HTTP {response.status_code} for its {what}.",
        )
    try:
        document = load_json(body, field="document")
    except Invalid:
        document = None
    if not isinstance(document, dict):
        raise Refused(502, "bad_discovery", f"The provider's {what} is not a JSON object.")
    return document


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cached(key: tuple[str, str], max_age: float):
    with _cache_lock:
        entry = _cache.get(key)
    if entry is None or time.monotonic() - entry[0] > max_age:
        return None
    return entry[1]


def _store(key: tuple[str, str], value: object) -> None:
    with _cache_lock:
        if len(_cache) > 200:  # a few providers each; never let it grow without bound
            _cache.clear()
        _cache[key] = (time.monotonic(), value)
