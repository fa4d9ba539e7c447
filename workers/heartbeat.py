"""A background thread that tells the database a run's worker is alive."""

from __future__ import annotations

import logging
import threading
import uuid

from flask import Flask

from app.extensions import db
from app.services import run_lifecycle

log = logging.getLogger("ferry.heartbeat")


class Heartbeat:
    """While the block runs, refresh the run's heartbeat every `interval_s` seconds.

    It uses its own app context (and so its own database session), so it never touches
    the executor's transaction.
    """

    def __init__(self, app: Flask, run_id: uuid.UUID, interval_s: float) -> None:
        self.app, self.run_id, self.interval_s = app, run_id, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self.app.app_context():
                try:
                    run_lifecycle.heartbeat(self.run_id)
                except Exception:  # a missed beat is survivable; the next one may work
                    log.exception("heartbeat for run %s failed", self.run_id)
                finally:
                    db.session.remove()
