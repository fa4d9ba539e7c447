"""A real OAuth 2 / OpenID Connect provider for tests: `oidc_provider_mock` in its own
process on loopback, speaking the full authorisation-code flow with refresh tokens."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support import free_port


@dataclass(frozen=True)
class Provider:
    """The running provider and the few things tests do at it."""

    base_url: str

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
def running_provider() -> Iterator[Provider]:
    """Start the provider for the duration of a `with` block (wrap it in a fixture)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)],
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
        yield Provider(base)
    finally:
        process.terminate()
        process.wait(timeout=10)
