"""Webhook accept latency while the retention purge deletes a backlog of expired rows.

Seeds one project with 1,000,000 expired rows (work orders, runs, step runs and their
dataclips, all 60 days old, under a 30-day history limit and 7-day body limit), starts
`ferry web` with its defaults, and alternates: webhooks to another project at a fixed rate
(open loop, `loadgen.py`: latency counted from when each request was due) with the purge
paused, then with the purge running (the same `retention.purge` the RQ job calls, in its own
process, with its batches and pauses). Target: p99 during the purge within 20 % of the p99
without it, in the same run.

    .venv/bin/python bench/retention_purge.py [--rate 200] [--rounds N] [--seconds 10]
        [--rows 1000000] [--saturate]

`--saturate` loads with `wrk -t2 -c16` instead, as many requests as the server can take:
then any CPU the purge uses shows in the latency, whatever it does.

Without --rounds it alternates until the whole backlog is purged, so the figures cover the
purge of every row, from the first batch to the last.

Needs `wrk` (`apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from accept_vs_reference import wrk
from loadgen import fire
from stack import (
    ROOT,
    bench_settings,
    create_workflow,
    free_port,
    fresh_database,
    machine,
    start,
    stop,
    wait_for_http,
)

# One expired work order brings five rows: itself, its run, one step run, and two dataclips
# (the request and the step's result).
ROWS_PER_WORK_ORDER = 5
SEED = """
WITH flow AS (
    SELECT w.id AS workflow_id, w.project_id, s.id AS snapshot_id, t.id AS trigger_id
    FROM triggers t JOIN workflows w ON w.id = t.workflow_id
    JOIN workflow_snapshots s ON s.workflow_id = w.id
    WHERE t.id = CAST(:trigger AS uuid) LIMIT 1
), numbers AS (
    SELECT n, gen_random_uuid() AS wo, gen_random_uuid() AS run, gen_random_uuid() AS step,
           gen_random_uuid() AS input, gen_random_uuid() AS output,
           now() - interval '60 days' - n * interval '1 second' AS at
    FROM generate_series(1, :count) AS n
), clips AS (
    INSERT INTO dataclips (id, project_id, type, body, request, inserted_at)
    SELECT input, flow.project_id, 'http_request',
           jsonb_build_object('child', 'name ' || n, 'village', 'Kisumu', 'visits', n % 9),
           '{"method": "POST", "path": "/i/x", "query": {}, "headers": {}}'::jsonb, at
    FROM numbers, flow
    UNION ALL
    SELECT output, flow.project_id, 'step_result',
           jsonb_build_object('data', jsonb_build_object('child', 'name ' || n, 'ok', true)),
           NULL, at
    FROM numbers, flow
    RETURNING 1
), orders AS (
    INSERT INTO work_orders (id, project_id, workflow_id, trigger_id, snapshot_id,
                             dataclip_id, state, inserted_at, last_activity_at)
    SELECT wo, project_id, workflow_id, trigger_id, snapshot_id, input, 'success', at, at
    FROM numbers, flow
    RETURNING 1
), runs AS (
    INSERT INTO runs (id, work_order_id, project_id, workflow_id, snapshot_id, dataclip_id,
                      final_dataclip_id, state, inserted_at, started_at, finished_at)
    SELECT run, wo, project_id, workflow_id, snapshot_id, input, output, 'success', at, at, at
    FROM numbers, flow
    RETURNING 1
)
INSERT INTO step_runs (id, run_id, step_id, step_name, input_dataclip_id, output_dataclip_id,
                       exit_reason, started_at, finished_at)
SELECT step, run, gen_random_uuid(), 'step', input, output, 'success', at, at
FROM numbers
"""

PURGER = """
import os, sys, time
sys.path.insert(0, {root!r})
from app import create_app
from app.config import Settings
from app.services.retention import purge
app = create_app(Settings.from_env())
pause = {pause!r}
batch = {batch!r} or purge.BATCH
purge.PAUSE_FACTOR = {factor!r} or purge.PAUSE_FACTOR
with app.app_context():
    while True:
        while os.path.exists(pause):
            time.sleep(0.05)
        result = purge.purge(batch=batch, budget_s=1.0)
        print(result.wiped, result.work_orders, result.dataclips, flush=True)
        if result.finished and not (result.wiped or result.work_orders or result.dataclips):
            break
"""


def seed(app, trigger_id: str, rows: int) -> float:
    """Insert the expired rows in chunks; returns the seconds it took."""
    from sqlalchemy import text

    from app.extensions import db
    from app.models import Project, Trigger, Workflow

    began = time.monotonic()
    work_orders = rows // ROWS_PER_WORK_ORDER
    with app.app_context():
        done = 0
        while done < work_orders:
            chunk = min(50_000, work_orders - done)
            db.session.execute(text(SEED), {"trigger": trigger_id, "count": chunk})
            db.session.commit()
            done += chunk
        workflow = db.session.get(Workflow, db.session.get(Trigger, trigger_id).workflow_id)
        project = db.session.get(Project, workflow.project_id)
        project.history_retention_days = 30
        project.dataclip_retention_days = 7
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    return time.monotonic() - began


def remaining(app) -> int:
    """Purge work left: expired work orders with their run and step run (3 rows each),
    expired dataclip rows, and bodies not yet wiped (the first thing the purge does)."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        count = db.session.execute(
            text(
                "SELECT (SELECT count(*) FROM work_orders WHERE last_activity_at < now() - "
                "interval '30 days') * 3 + (SELECT count(*) FROM dataclips WHERE inserted_at "
                "< now() - interval '30 days') + (SELECT count(*) FROM dataclips WHERE "
                "inserted_at < now() - interval '30 days' AND wiped_at IS NULL)"
            )
        ).scalar()
        db.session.remove()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=0, help="0: until the backlog is gone")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=200, help="webhooks a second (open loop)")
    parser.add_argument("--batch", type=int, default=0, help="rows a batch (the purge's own)")
    parser.add_argument("--factor", type=float, default=0, help="pause factor (the purge's)")
    parser.add_argument("--saturate", action="store_true", help="wrk, closed loop, instead")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")

    settings = bench_settings()
    app = fresh_database(settings)
    accepting = create_workflow(app, "accept")
    expired = create_workflow(app, "expired")
    seconds = seed(app, expired, args.rows)
    print(f"machine: {machine()}")
    total = remaining(app)
    print(
        f"seeded {args.rows:,} expired rows in {seconds:.0f} s: {total:,} units of purge work "
        "(a row deleted or a body wiped)"
    )

    port = free_port()
    web = start(settings, "web", "--host", "127.0.0.1", "--port", str(port))
    pause = Path(tempfile.mkdtemp(prefix="ferry-bench-")) / "pause"
    pause.touch()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    script = PURGER.format(root=str(ROOT), pause=str(pause), batch=args.batch, factor=args.factor)
    purger = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    target = f"http://127.0.0.1:{port}/i/{accepting}"

    def load() -> dict:
        if args.saturate:
            return wrk(target, args.seconds)
        got = fire(target, args.rate, args.seconds)
        return {"rate": got.throughput, "p99": got.percentile_ms(0.99), "errors": got.errors}

    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", seconds=180)
        load()  # warm every worker and connection
        print(f"load: {'wrk -t2 -c16 (saturating)' if args.saturate else f'{args.rate} req/s'}")
        print(
            f"{'round':>5} {'idle req/s':>10} {'idle p99':>9} {'purge req/s':>12} "
            f"{'purge p99':>10} {'units/s':>8} {'errors':>7} {'p99 ratio':>9}"
        )
        ratios = []
        number = 0
        purge_began = time.monotonic()
        purging_s = 0.0
        while (args.rounds and number < args.rounds) or (not args.rounds and remaining(app)):
            number += 1
            idle = load()
            before = remaining(app)
            pause.unlink()
            began = time.monotonic()
            busy = load()
            pause.touch()
            purging_s += time.monotonic() - began
            rate = (before - remaining(app)) / (time.monotonic() - began)
            time.sleep(1)
            ratio = busy["p99"] / idle["p99"]
            ratios.append(ratio)
            print(
                f"{number:>5} {idle['rate']:>10.0f} {idle['p99']:>9.1f} {busy['rate']:>12.0f} "
                f"{busy['p99']:>10.1f} {rate:>8.0f} {idle['errors'] + busy['errors']:>7} "
                f"{ratio:>9.2f}"
            )
        print(
            f"p99 during the purge / without: median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f}); target <= 1.20"
        )
        left = remaining(app)
        print(
            f"purge work left: {left:,} of {total:,} units; {total - left:,} done in "
            f"{purging_s:.0f} s of purging ({time.monotonic() - purge_began:.0f} s with the "
            "idle rounds)"
        )
    finally:
        pause.unlink(missing_ok=True)
        stop([web, purger])


if __name__ == "__main__":
    main()
