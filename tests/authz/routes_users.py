"""Matrix entries for the superuser users pages (app/web/users): everyone else gets 404."""

from __future__ import annotations

from tests.authz.rules import Rule

# Actions point at world.outsider: a user in no project, whom a superuser may change (each
# case runs in a savepoint that is rolled back, so the next case finds them unchanged).
TARGET = {"user_id": lambda world: world.outsider.id}

ROUTES = {
    "users.index": Rule("superuser", query={"q": "authz"}),
    "users.show": Rule("superuser", params=TARGET),
    "users.new_invitation": Rule("superuser"),
    "users.invite": Rule("superuser", data={"email": "matrix-users-invite@example.org"}),
    "users.grant_superuser": Rule("superuser", params=TARGET),
    "users.revoke_superuser": Rule("superuser", params=TARGET),
    "users.disable": Rule("superuser", params=TARGET),
    "users.enable": Rule("superuser", params=TARGET),
    "users.reset_mfa": Rule("superuser", params=TARGET, note="no MFA to reset: 409"),
    "users.confirm_delete": Rule("superuser", params=TARGET),
    "users.delete": Rule("superuser", params=TARGET, note="no email typed: the form answers 422"),
}
