"""Matrix entries for single sign-on: the sign-in redirect and callback (open to everyone;
a callback without its pending sign-in answers 400) and the superuser's provider pages.

The provider each case points at is a row made inside the case's savepoint, whose discovery
URL is a small loopback server answering a valid document, so the redirect really happens."""

from __future__ import annotations

import functools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.extensions import db
from app.models import OidcProvider
from app.services.encryption import encrypt_text
from tests.authz.rules import Rule


@functools.cache
def _discovery_url() -> str:
    """A loopback server answering its own discovery document (started once, for the run)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            document = {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
            }
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/.well-known/openid-configuration"


def _provider(world) -> OidcProvider:
    provider = OidcProvider(
        name="Matrix ID",
        slug="matrix-id",
        discovery_url=_discovery_url(),
        client_id="matrix",
        client_secret_encrypted=encrypt_text("matrix-secret"),
        allowed_domains=["example.org"],
        enabled=True,
    )
    db.session.add(provider)
    db.session.flush()
    return provider


PARAMS = {
    "slug": lambda world: _provider(world).slug,
    "provider_id": lambda world: _provider(world).id,
}

ROUTES = {
    "auth.sso_start": Rule("public", note="anonymous: to the provider; signed in: to projects"),
    "auth.sso_callback": Rule("public", note="no pending sign-in in the session: 400 page"),
    "admin.sso_providers": Rule("superuser"),
    "admin.new_sso_provider": Rule("superuser"),
    "admin.create_sso_provider": Rule("superuser", note="empty form: 422"),
    "admin.edit_sso_provider": Rule("superuser"),
    "admin.update_sso_provider": Rule("superuser", note="empty form: 422"),
    "admin.confirm_delete_sso_provider": Rule("superuser"),
    "admin.delete_sso_provider": Rule("superuser", note="no name typed: 422"),
}
