"""Matrix entries for the audit log pages: a project's (admins and owners) and the
instance's (superusers only)."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "audit.project": Rule("admin"),
    "audit.instance": Rule("superuser"),
}
