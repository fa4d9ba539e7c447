"""Matrix entry for issue 19's zero persistence card: admins turn it on or off (the matrix
posts nothing, so an admin's request is a 422 saying to choose on or off, never a change)."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "data_protection.update_zero_persistence": Rule("admin"),
}
