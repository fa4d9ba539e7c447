"""Matrix entries for the profile pages (account, password, API tokens, sign out everywhere);
the MFA pages of the profile are in routes_mfa.py."""

from __future__ import annotations

from app.services import api_tokens
from tests.authz.rules import Rule

# A token is revoked only by the person it belongs to (world.owner here): for everybody
# else, superusers included, it does not exist.
NOT_THEIRS = {role: 404 for role in ("outsider", "viewer", "editor", "admin", "superuser")}

ROUTES = {
    "profile.index": Rule("signed_in"),
    "profile.change_password": Rule("signed_in", note="no password sent: 422"),
    "profile.create_token": Rule("signed_in", note="no name sent: 422"),
    "profile.revoke_token": Rule(
        "signed_in", expect=NOT_THEIRS, note="only the token's owner may revoke it"
    ),
    "profile.sign_out_everywhere": Rule("signed_in"),
}
PARAMS = {
    "token_id": lambda world: api_tokens.create_token(world.owner.id, "Authz script")[0].id,
}
