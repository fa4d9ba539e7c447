"""The signed-in user's own profile: API tokens, signing out everywhere. MFA pages live
beside this module."""

from __future__ import annotations

# The MFA pages register themselves on `bp` when imported.
from app.web.profile import mfa_views  # noqa: F401
from app.web.profile.blueprint import bp  # noqa: F401
