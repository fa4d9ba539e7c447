"""A background thread that tells the database a worker's runs are alive."""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator

from flask import Flask

from app.extensions import db
from app.services.runs import lifecycle

log = logging.getLogger("ferry.heartbeat")


class Heartbeat:
    """One long-lived thread per worker process refreshing, every `interval_s` seconds, the
    heartbeat of each run executing inside `beating(run_id)`.

    A run's heartbeat is first set by its claim, so it is never older than `interval_s`
    (plus a beat's own time) while the run is registered here; when the process dies the
    beats stop and the reaper (`app.services.runs.maintenance.reap`) turns its runs into
    `lost` within 30 s (`maintenance.lost_within_s`), exactly as with a thread per run,
    which cost a thread start and join on every run. The thread uses its own app context
    (and so its own database session), so it never touches the executor's transaction.
    """

    def __init__(self, app: Flask, interval_s: float) -> None:
        self.app, self.interval_s = app, interval_s
        self._runs: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def beating(self, run_id: uuid.UUID) -> Iterator[None]:
        """Keep the run's heartbeat fresh while the block runs."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
            self._thread.start()
        with self._lock:
            self._runs.add(run_id)
        try:
            yield
        finally:
            with self._lock:
                self._runs.discard(run_id)

    def close(self) -> None:
        """Stop the thread (tests; a worker's daemon thread ends with the process)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                run_ids = list(self._runs)
            if not run_ids:
                continue  # an idle worker costs the database nothing
            with self.app.app_context():
                try:
                    lifecycle.heartbeat(run_ids)
                except Exception:  # a missed beat is survivable; the next one may work
                    log.exception("heartbeat for runs %s failed", run_ids)
                finally:
                    db.session.remove()
