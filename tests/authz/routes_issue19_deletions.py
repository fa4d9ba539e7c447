"""Matrix entries for issue 19's deletion grace period: a project's deletion is cancelled by
its owner or a superuser (everyone else gets 404: the project is hidden while it waits), a
user's by a superuser. The matrix's project and user are not scheduled for deletion, so an
allowed cancel is a 409 saying so, never a change."""

from __future__ import annotations

from tests.authz.rules import Rule

HIDDEN = "the project is hidden while its deletion waits: only its owner may see it to cancel"

ROUTES = {
    "projects.cancel_deletion": Rule(
        "owner", expect={"viewer": 404, "editor": 404, "admin": 404}, note=HIDDEN
    ),
    "users.cancel_deletion": Rule("superuser", params={"user_id": lambda w: w.outsider.id}),
}
