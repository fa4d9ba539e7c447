"""A real OAuth 2 / OpenID Connect provider for tests: `oidc_provider_mock` in its own
process on loopback, speaking the full authorisation-code flow with refresh tokens.

Its consent page asks only for a subject (`sub`); a subject it has not seen gets the claims
{"email": sub}, nothing more. `set_claims` stores a user's claims first (email,
email_verified, name...); the ID token then carries those allowed by the requested scopes
(`email` gives email and email_verified, `profile` gives name)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support import free_port


@dataclass(frozen=True)
class Provider:
    """The running provider and the few things tests do at it."""

    base_url: str
    process: subprocess.Popen | None = field(default=None, compare=False, repr=False)

    @property
    def discovery_url(self) -> str:
        """The OpenID Connect discovery document."""
        return f"{self.base_url}/.well-known/openid-configuration"

    def set_claims(self, subject: str, **claims: object) -> None:
        """Store the claims the provider will assert for `subject` from now on."""
        response = httpx.put(f"{self.base_url}/users/{subject}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def stop(self) -> None:
        """Stop the provider process, as an outage would (the `with` block ends it anyway)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def authorization_endpoint(self) -> str:
        """Where users consent."""
        return f"{self.base_url}/oauth2/authorize"

    @property
    def token_endpoint(self) -> str:
        """Where codes and refresh tokens become access tokens."""
        return f"{self.base_url}/oauth2/token"

    def consent(self, authorization_url: str, subject: str) -> dict[str, str]:
        """Sign in as `subject` on the consent page; returns the callback's query values."""
        response = httpx.post(authorization_url, data={"sub": subject}, timeout=10)
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["location"]).query)
        return {key: values[0] for key, values in query.items()}

    def token_works(self, access_token: str) -> bool:
        """True when the provider accepts the token (its userinfo endpoint answers)."""
        response = httpx.get(
            f"{self.base_url}/userinfo",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=10,
        )
        return response.status_code == 200

    def revoke_all_tokens(self, subject: str) -> None:
        """Revoke every token of `subject`, as a user withdrawing consent would."""
        httpx.post(f"{self.base_url}/users/{subject}/revoke-tokens", timeout=10)


@contextmanager
def running_provider(*, require_nonce: bool = False) -> Iterator[Provider]:
    """Start the provider for the duration of a `with` block (wrap it in a fixture);
    `require_nonce` makes it refuse authorisation requests without a nonce."""
    port = free_port()
    options = ["--require-nonce", "true"] if require_nonce else []
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/.well-known/openid-configuration", timeout=1).is_success:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the OIDC provider exited at start-up"
        assert time.monotonic() < deadline, "the OIDC provider did not start within 30 s"
        time.sleep(0.1)
    try:
        yield Provider(base, process)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
