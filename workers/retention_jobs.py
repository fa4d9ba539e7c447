"""RQ job: apply the projects' retention policies (queued by the scheduler through
`app.services.retention.purge.queue_purge`)."""

from __future__ import annotations

import logging

from app.extensions import db

log = logging.getLogger("ferry.retention")


def purge() -> dict:
    """Wipe expired bodies and delete expired history, within the purge's time budget."""
    from app.services.retention import purge as retention

    try:
        result = retention.purge()
    finally:
        db.session.remove()
    if result.wiped or result.work_orders or result.dataclips:
        log.info(
            "retention purge: %d bodies wiped, %d work orders and %d dataclips deleted%s",
            result.wiped,
            result.work_orders,
            result.dataclips,
            "" if result.finished else " (time budget spent; the next run goes on)",
        )
    return {
        "wiped": result.wiped,
        "work_orders": result.work_orders,
        "dataclips": result.dataclips,
        "finished": result.finished,
    }
