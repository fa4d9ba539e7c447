"""PostgreSQL and Redis load per 1,000 runs, for bench/scale_out.py and docs/scaling.md.

Counters are read three times: S0 and S1 around an idle window (the stack running with
nothing to do: the scheduler's ticks, idle workers), and S2 after the load. The load's
share is (S2 - S1) minus the idle rate over the same time. Sources:

- pg_stat_database of the bench database: transactions committed, rows inserted, updated
  and deleted (pg_stat_statements would count statements, but it must be preloaded at
  server start, and the shared server here does not load it);
- pg_stat_user_tables: rows written per table;
- pg_database_size: bytes stored;
- WAL written for this database (`wal_follower.py`: pg_walinspect's records whose blocks
  belong to its relations, and their commits; the server's WAL is shared with other
  databases, so its position alone would overcount);
- Redis INFO commandstats and stats: commands by name, bytes in and out (the Redis server
  must be the bench's own).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg
from redis import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from wal_follower import WalFollower

from app.extensions import db

_DATABASE = """SELECT xact_commit, tup_inserted, tup_updated, tup_deleted,
    pg_database_size(current_database()), pg_current_wal_flush_lsn()::text
    FROM pg_stat_database WHERE datname = current_database()"""
_TABLES = "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables"
PG_FIELDS = (
    "transactions committed",
    "rows inserted",
    "rows updated",
    "rows deleted",
    "database bytes",
)


@dataclass
class Snapshot:
    at: float
    pg: dict[str, float]
    tables: dict[str, float]
    lsn: str
    redis: dict[str, float] = field(default_factory=dict)
    wal: dict[str, float] = field(default_factory=dict)  # from the previous snapshot to this


class LoadCounters:
    """The three snapshots of one measurement."""

    def __init__(self, app, redis_url: str) -> None:
        self.app, self.redis = app, Redis.from_url(redis_url)
        dsn = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
        try:
            self.wal: WalFollower | None = WalFollower(dsn.render_as_string(hide_password=False))
        except psycopg.Error as error:  # pg_walinspect missing, or not a superuser
            print(f"    (WAL not counted: {str(error).splitlines()[0]})")
            self.wal = None
        self.snapshots: list[Snapshot] = []

    def idle_window(self, seconds: float) -> None:
        """S0, then `seconds` of nothing, then S1."""
        if self.wal:
            self.wal.start()
        self._take()
        time.sleep(seconds)
        self._take()

    def after_load(self) -> None:
        """S2, once the load's runs have finished and the statistics settled."""
        self._take()
        if self.wal:
            self.wal.stop()

    def _take(self) -> None:
        with self.app.app_context():
            *values, lsn = db.session.execute(text(_DATABASE)).one()
            tables = dict(db.session.execute(text(_TABLES)).all())
            db.session.remove()
        redis = {
            name.removeprefix("cmdstat_"): stats["calls"]
            for name, stats in self.redis.info("commandstats").items()
        }
        stats = self.redis.info("stats")
        redis["bytes in"] = stats["total_net_input_bytes"]
        redis["bytes out"] = stats["total_net_output_bytes"]
        wal = self.wal.read() if self.wal else {}
        pg = dict(zip(PG_FIELDS, values, strict=True))
        self.snapshots.append(Snapshot(time.monotonic(), pg, tables, lsn, redis, wal))


def _load(before: dict, idle_before: dict, after: dict, idle_s: float, load_s: float) -> dict:
    """What the load added: after - before, less the idle rate over the load's time."""
    keys = set(after) | set(before)
    return {
        key: (after.get(key, 0) - before.get(key, 0))
        - (before.get(key, 0) - idle_before.get(key, 0)) * load_s / idle_s
        for key in keys
    }


def per_thousand(counters: LoadCounters, runs: int) -> dict:
    """Every counter's load per 1,000 runs, and the idle stack's rate per second."""
    s0, s1, s2 = counters.snapshots
    idle_s, load_s = s1.at - s0.at, s2.at - s1.at
    scale = 1000 / runs
    result = {"idle_s": idle_s, "load_s": load_s}
    for name in ("pg", "tables", "redis"):
        loaded = _load(getattr(s1, name), getattr(s0, name), getattr(s2, name), idle_s, load_s)
        result[name] = {key: value * scale for key, value in loaded.items()}
        result[f"idle {name}"] = {
            key: (getattr(s1, name).get(key, 0) - getattr(s0, name).get(key, 0)) / idle_s
            for key in getattr(s1, name)
        }
    if s0.wal and s2.wal:
        loaded = _load(s1.wal, s0.wal, s2.wal, idle_s, load_s)
        result["wal"] = {key: value * scale for key, value in loaded.items()}
    return result


def print_load(load: dict) -> None:
    """The figures docs/scaling.md quotes."""
    print(f"load per 1,000 runs (idle rate over {load['idle_s']:.0f} s subtracted):")
    for key, value in load["pg"].items():
        idle = load["idle pg"].get(key, 0)
        print(f"    postgresql {key}: {value:,.0f} (idle: {idle:,.1f}/s)")
    for key, value in load.get("wal", {}).items():
        print(f"    postgresql {key}: {value:,.0f}")
    for table, value in sorted(load["tables"].items(), key=lambda item: -item[1]):
        if value >= 0.5:
            print(f"    rows written to {table}: {value:,.0f}")
    commands = {k: v for k, v in load["redis"].items() if not k.startswith("bytes")}
    total = sum(value for key, value in commands.items() if key != "info")
    idle = sum(v for k, v in load["idle redis"].items() if k in commands and k != "info")
    print(f"    redis commands: {total:,.0f} (idle: {idle:,.1f}/s)")
    for key, value in sorted(commands.items(), key=lambda item: -item[1]):
        if value >= 0.5 and key != "info":
            print(f"        {key}: {value:,.0f}")
    for key in ("bytes in", "bytes out"):
        print(f"    redis {key}: {load['redis'][key]:,.0f}")
