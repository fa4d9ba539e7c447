"""Matrix entries for issue 19's Data protection tab: every member reads it; admins change
the retention policy (the matrix posts nothing, so an admin's save is a 422, never a change)."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "data_protection.show": Rule("viewer"),
    "data_protection.update_retention": Rule("admin"),
}
