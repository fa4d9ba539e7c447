"""The SSO fixtures (tests/sso_support.py)."""

from tests.sso_support import (  # noqa: F401
    _fresh_discovery_cache,
    admin,
    fake_idp,
    oidc_provider,
    sso_provider,
)
