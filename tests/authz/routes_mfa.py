"""Matrix entries for the MFA routes: the second sign-in step (anyone may reach it; without
a pending sign-in it sends back to /login) and the MFA pages of each user's own profile."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "auth.mfa_challenge": Rule("public"),
    "auth.mfa_verify": Rule("public", data={"code": "123456"}),
    "profile.mfa": Rule("signed_in"),
    "profile.mfa_enrol": Rule("signed_in"),
    "profile.mfa_confirm": Rule("signed_in", data={"code": "123456"}),
    "profile.mfa_regenerate": Rule("signed_in", data={"regenerate-password": "wrong"}),
    "profile.mfa_disable": Rule("signed_in", data={"disable-password": "wrong"}),
}
