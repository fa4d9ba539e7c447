"""The scheduler process: calls periodic platform tasks at their intervals.

Each task is a plain function run inside the app context. Tasks must be safe to run from
two schedulers at once (they claim their work in the database), so running a second
scheduler for availability is harmless.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from app.config import Settings
from app.extensions import db, redis_client
from app.services.runs.maintenance import SCHEDULER_TICK_S

log = logging.getLogger("ferry.scheduler")


@dataclass
class PeriodicTask:
    """A function and how often to call it."""

    name: str
    every_s: float
    function: Callable[[], object]
    next_due: float = 0.0


SCHEDULER_HEARTBEAT_KEY = "ferry:scheduler:heartbeat"
HEARTBEAT_EVERY_S = 15.0


def record_heartbeat() -> None:
    """Leave a short-lived mark in Redis, so health checks and tests can see a live scheduler."""
    redis_client().set(SCHEDULER_HEARTBEAT_KEY, time.time(), ex=int(HEARTBEAT_EVERY_S * 4))


def periodic_tasks(settings: Settings | None = None) -> list[PeriodicTask]:
    """The tasks this scheduler runs and how often (`settings` gives the configurable
    intervals; the defaults otherwise)."""
    from app.services.deletions import due as deletions
    from app.services.history.exports import lifecycle as history_exports
    from app.services.notifications import alert_queue, failure_alerts
    from app.services.notifications.digests import EVERY_S as DIGESTS_EVERY_S
    from app.services.notifications.digests import send_due as send_due_digests
    from app.services.retention import purge as retention
    from app.services.runs import maintenance
    from app.services.triggers import cron, webhook_signature

    purge_every_s = (settings or Settings()).retention_purge_every_s
    # The reaper first: in a tick where several tasks are due, the others must not delay
    # it, since its period counts towards how soon a killed worker's run is lost
    # (`maintenance.lost_within_s`).
    return [
        PeriodicTask("reaper", maintenance.REAPER_EVERY_S, maintenance.reap),
        PeriodicTask("heartbeat", HEARTBEAT_EVERY_S, record_heartbeat),
        PeriodicTask("cron", 1.0, cron.tick),
        PeriodicTask("sweeper", 5.0, maintenance.sweep),
        PeriodicTask("due retries", maintenance.DUE_RETRIES_EVERY_S, maintenance.queue_due_retries),
        PeriodicTask("alert sweeper", 5.0, alert_queue.sweep),
        PeriodicTask("alert summaries", 5.0, failure_alerts.send_due_summaries),
        PeriodicTask("deletion purges", 300.0, deletions.queue_due),
        PeriodicTask("digests", DIGESTS_EVERY_S, send_due_digests),
        PeriodicTask("signature purge", 60.0, webhook_signature.purge_seen),
        PeriodicTask("history exports", 60.0, history_exports.sweep),
        PeriodicTask("retention purge", float(purge_every_s), retention.queue_purge),
    ]


class _Stop:
    requested = False


def run_scheduler(
    app: Flask, *, tick_s: float = SCHEDULER_TICK_S, max_ticks: int | None = None
) -> None:
    """Loop until SIGTERM/SIGINT, running each task when it is due."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = _Stop()

    def request_stop(signum, frame):
        stop.requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    tasks = periodic_tasks(app.config["FERRY_SETTINGS"])
    log.info("scheduler started with tasks: %s", ", ".join(t.name for t in tasks))
    ticks = 0
    while not stop.requested and (max_ticks is None or ticks < max_ticks):
        now = time.monotonic()
        for task in tasks:
            if now >= task.next_due:
                task.next_due = now + task.every_s
                _run_task(app, task)
        ticks += 1
        time.sleep(tick_s)
    log.info("scheduler stopped")


def _run_task(app: Flask, task: PeriodicTask) -> None:
    with app.app_context():
        try:
            task.function()
        except Exception:  # one failing task must not stop the others
            log.exception("periodic task %s failed", task.name)
            db.session.rollback()
        finally:
            db.session.remove()
