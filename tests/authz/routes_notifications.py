"""Matrix entries for the Notifications tab, the alert log, the signed unsubscribe links
(app/web/notifications) and the profile's time zone."""

from __future__ import annotations

from app.services.notifications import links
from tests.authz.rules import Rule


def _unsubscribe_token(world) -> str:
    """A link that turns off world.viewer's failure alerts in world.project."""
    return links.unsubscribe_token(
        links.Unsubscribe(world.viewer.id, world.project.id, links.FAILURE_ALERTS)
    )


LINK = {"token": _unsubscribe_token}
MINE = {"failure_alerts": "y", "digest": "daily", "digest_hour": "8"}
PROJECT = {"limit_count": "3", "limit_minutes": "5", "webhook_url": ""}

ROUTES = {
    "notifications.index": Rule("viewer"),
    "notifications.update_mine": Rule(
        "viewer", data=MINE, note="superusers who are no member get 422: no choices of their own"
    ),
    "notifications.update_project": Rule("admin", data=PROJECT),
    "notifications.send_test": Rule("admin"),
    "notifications.log": Rule("admin"),
    # GET only shows what would be turned off; POST is RFC 8058 one-click, no sign-in.
    "notifications.unsubscribe": Rule("public", params=LINK),
    "notifications.confirm_unsubscribe": Rule(
        "public", params=LINK, data={"List-Unsubscribe": "One-Click"}
    ),
    "profile.change_time_zone": Rule("signed_in", data={"time_zone": "Africa/Nairobi"}),
}
