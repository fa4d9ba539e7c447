"""WAL written for one database, counted while it is written (bench/scale_load.py).

The server's WAL is shared with every other database on it, so the WAL position alone would
count everyone's writes. pg_walinspect lists the records; a record belongs to this database
when one of its blocks is in one of its relations ("rel <tablespace>/<database>/<file>"),
and a commit record when its transaction wrote such a block. Other databases' load makes
checkpoints recycle WAL segments within a minute or two, so a thread reads the records
every second instead of once at the end, keeping the totals so far.
"""

from __future__ import annotations

import threading

import psycopg

_RECORDS = """WITH r AS MATERIALIZED (
    SELECT xid::text AS xid, resource_manager, record_length, fpi_length, block_ref
    FROM pg_get_wal_records_info(%(start)s::pg_lsn, %(end)s::pg_lsn)
)
SELECT 'block', xid, count(*), sum(record_length), sum(fpi_length) FROM r
    WHERE block_ref LIKE %(pattern)s GROUP BY xid
UNION ALL
SELECT 'commit', xid, count(*), sum(record_length), 0 FROM r
    WHERE resource_manager = 'Transaction' GROUP BY xid"""


class WalFollower:
    """Totals of this database's WAL records since `start()`, read every `every_s`."""

    def __init__(self, dsn: str, every_s: float = 1.0) -> None:
        self.connection = psycopg.connect(dsn, autocommit=True)
        self.connection.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        oid = self.connection.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
        self.pattern = f"% rel %/{oid}/%"
        self.every_s, self.lock, self.stopping = every_s, threading.Lock(), threading.Event()
        self.totals = {"WAL records": 0, "WAL bytes": 0, "of which full-page images": 0}
        self.position: str | None = None
        self.mine: set[str] = set()  # transactions with blocks here, this read and the last
        self.error: str | None = None
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def start(self) -> None:
        self.position = self._flushed()
        self.thread.start()

    def read(self) -> dict[str, float]:
        """The totals up to the WAL flushed now ({} once a read failed)."""
        with self.lock:
            self._advance()
            return {} if self.error else dict(self.totals)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.connection.close()

    def _follow(self) -> None:
        while not self.stopping.wait(self.every_s):
            with self.lock:
                self._advance()

    def _flushed(self) -> str:
        return self.connection.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()[0]

    def _advance(self) -> None:
        if self.error:
            return
        end = self._flushed()
        if end == self.position:
            return  # pg_walinspect refuses an empty range
        try:
            rows = self.connection.execute(
                _RECORDS, {"start": self.position, "end": end, "pattern": self.pattern}
            ).fetchall()
        except psycopg.Error as error:
            message = str(error).splitlines()[0]
            if "could not find a valid record" not in message:  # e.g. a segment recycled
                self.error = message
                print(f"    (WAL no longer counted: {self.error})")
            # Else no whole record was flushed after the position yet: read it next time.
            return
        self.position = end
        blocks = {xid for kind, xid, *_ in rows if kind == "block" and xid != "0"}
        for kind, xid, count, size, images in rows:
            if kind == "block" or xid in blocks or xid in self.mine:
                self.totals["WAL records"] += count
                self.totals["WAL bytes"] += int(size)
                self.totals["of which full-page images"] += int(images)
        self.mine = blocks
