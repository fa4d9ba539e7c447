"""Fixtures for the SSO tests (services and pages import them into their conftest): the real
provider process (nonce required), a configured provider, a helper that plays the browser
between Ferry and the provider, and a fake provider for the answers a real one never gives."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from app.services import accounts
from app.services.sso import discovery, login, providers
from tests.oidc_provider import running_provider

CLIENT_ID = "ferry-tests"
CLIENT_SECRET = "sso-client-secret-value"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID provider process on loopback that insists on a nonce."""
    with running_provider(require_nonce=True) as provider:
        yield provider


@pytest.fixture(autouse=True)
def _fresh_discovery_cache():
    discovery.forget()
    yield
    discovery.forget()


@pytest.fixture
def admin(db):
    """A superuser who configures providers (no password: hashing one costs time)."""
    return accounts.create_user(f"admin-{next(_numbers)}@example.net", None, superuser=True)


def provider_fields(oidc_provider, **overrides) -> dict:
    """The fields of a working provider configuration."""
    return {
        "name": "Acme ID",
        "discovery_url": oidc_provider.discovery_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "allowed_domains": "example.org",
        "sso_only": False,
        "enabled": True,
        **overrides,
    }


@pytest.fixture
def sso_provider(db, admin, oidc_provider):
    """ "Acme ID", admitting example.org."""
    return providers.save(admin, None, provider_fields(oidc_provider))


def consent(oidc_provider, slug: str, subject: str, **claims) -> tuple[dict, dict, str]:
    """Start a sign-in and consent at the provider as `subject` with `claims`; returns the
    pending sign-in, the callback's query values, and the authorisation URL."""
    if claims:
        oidc_provider.set_claims(subject, **claims)
    url, pending = login.start(slug, None)
    return pending, oidc_provider.consent(url, subject), url


def query_of(url: str) -> dict[str, str]:
    """The query values of a URL."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class FakeIdp:
    """A loopback HTTP server answering each path with what a test set (discovery documents
    a real provider would never send), recording the requests it got."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.routes: dict[str, tuple[int, bytes, dict]] = {}
        self.requests: list[dict] = []

    def answer(self, path: str, body: object, status: int = 200, headers=None) -> None:
        """Serve `body` (JSON unless bytes) at `path`."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[path] = (status, raw, headers or {"Content-Type": "application/json"})

    def document(self, **overrides) -> dict:
        """A valid discovery document for this server, with `overrides` applied."""
        document = {
            "issuer": self.base_url,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "jwks_uri": f"{self.base_url}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        document.update(overrides)
        return {k: v for k, v in document.items() if v is not None}

    @property
    def discovery_url(self) -> str:
        """Where the document is served."""
        return self.base_url + discovery.WELL_KNOWN


@pytest.fixture
def fake_idp():
    """A FakeIdp on a free loopback port."""
    routes_holder: list[FakeIdp] = []

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            idp = routes_holder[0]
            length = int(self.headers.get("Content-Length") or 0)
            idp.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length).decode() if length else "",
                }
            )
            status, body, headers = idp.routes.get(self.path.split("?")[0], (404, b"{}", {}))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    idp = FakeIdp(f"http://127.0.0.1:{server.server_address[1]}")
    idp.answer(discovery.WELL_KNOWN, idp.document())
    routes_holder.append(idp)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield idp
    server.shutdown()
    server.server_close()
