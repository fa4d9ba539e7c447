"""One TLS context for all the httpx clients a test process builds.

httpx builds a new TLS context for every Client, including the one behind each httpx.get
and httpx.post, and loading the CA bundle into it costs about 40 ms of CPU on this machine.
The tests' own calls are plain http on loopback and never use it: the thousand-webhooks
test built a thousand (most of its minute), and each wait for a server to boot built ten a
second, taking CPU from the server it waited for. A context built once with the same
arguments verifies exactly what a fresh one would; only the default `verify=True` without a
client certificate is shared, keyed by the environment variables httpx reads.
"""

from __future__ import annotations

import functools
import os
import ssl

import httpx._transports.default as httpx_transports
from httpx._config import create_ssl_context


@functools.cache
def _default_context(trust_env: bool, cert_file: str | None, cert_dir: str | None):
    # The arguments are the cache key: httpx reads the two variables itself.
    return create_ssl_context(verify=True, trust_env=trust_env)


def _create(verify=True, cert=None, trust_env: bool = True) -> ssl.SSLContext:
    if verify is True and cert is None:
        return _default_context(
            trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
        )
    return create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


def install() -> None:
    """Make every httpx transport of this process take the shared context."""
    assert hasattr(httpx_transports, "create_ssl_context"), "httpx moved create_ssl_context"
    httpx_transports.create_ssl_context = _create
