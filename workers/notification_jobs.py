"""RQ jobs of failure alerts: they take ids and call app.services.notifications, nothing else
(queued by `app.services.notifications.alert_queue` and `failure_alerts`)."""

from __future__ import annotations

import uuid

from app.extensions import db


def failure_alert(run_id: str) -> int:
    """Send (or count as suppressed) the failure alerts of one run that ended unsuccessfully."""
    from app.services.notifications import failure_alerts

    try:
        return failure_alerts.alert_for_run(uuid.UUID(run_id))
    finally:
        db.session.remove()


def http_alert(entry_id: str, last: bool = False, extra: dict | None = None) -> str:
    """POST one alert (or summary) to the project's HTTP endpoint; raises to be retried."""
    from app.services.notifications import http_channel

    try:
        return http_channel.deliver(uuid.UUID(entry_id), last, extra)
    finally:
        db.session.remove()
