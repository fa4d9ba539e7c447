"""The test processes' httpx clients share one TLS context that still verifies like httpx's."""

from __future__ import annotations

import ssl
import time

import httpx


def _context(client: httpx.Client) -> ssl.SSLContext:
    return client._transport._pool._ssl_context


def test_clients_share_one_context_that_verifies_certificates_and_host_names():
    with httpx.Client() as first, httpx.Client(timeout=60) as second:
        shared = _context(first)
        assert _context(second) is shared
        assert shared.verify_mode == ssl.CERT_REQUIRED
        assert shared.check_hostname is True
        assert shared.cert_store_stats()["x509_ca"] > 0, "the shared context trusts no CA"


def test_other_verify_choices_get_their_own_context():
    with httpx.Client() as default, httpx.Client(verify=False) as unverified:  # noqa: S501 -- kept, not shared
        assert _context(unverified) is not _context(default)
        assert _context(unverified).verify_mode == ssl.CERT_NONE
    own = ssl.create_default_context()
    with httpx.Client(verify=own) as custom:
        assert _context(custom) is own


def test_a_client_costs_a_millisecond_not_a_ca_bundle():
    started = time.process_time()
    for _ in range(50):
        httpx.Client().close()
    per_client_ms = (time.process_time() - started) * 1000 / 50
    # A fresh context loads the CA bundle: about 40 ms of CPU here.
    assert per_client_ms < 10, f"{per_client_ms:.1f} ms of CPU per client"
