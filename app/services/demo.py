"""The demo account and project that `ferry run` creates on an empty database."""

from __future__ import annotations

from app.services import accounts, projects

DEMO_EMAIL = "demo@example.org"
DEMO_PASSWORD = "ferry-demo-password"  # noqa: S105 -- printed on purpose: a demo login


def ensure_demo_data() -> bool:
    """Create the demo superuser and project when no user exists; True when created."""
    if accounts.count_users() > 0:
        return False
    user = accounts.create_user(DEMO_EMAIL, DEMO_PASSWORD, name="Demo admin", superuser=True)
    projects.create_project(
        user, "Demo project", "A place to try Ferry: build a workflow and send it a webhook."
    )
    return True
