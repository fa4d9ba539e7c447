"""Run engine speed with real workers: webhook-to-run-start latency at a fixed rate, and
end-to-end runs/s for a one-step trivial workflow with two worker processes.

Targets: start latency p50 <= 15 ms and p99 <= 100 ms at 500 req/s; >= 150 runs/s.

    .venv/bin/python bench/run_throughput.py [--rate 500] [--seconds 10] [--runs 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from loadgen import fire
from sandbox_vs_fork import REFERENCE, reference_round
from sqlalchemy import func, select, text
from stack import (
    bench_settings,
    create_workflow,
    fresh_database,
    machine,
    open_runs,
    start,
    start_web,
    stop,
)

from app.extensions import db
from app.models import Run, RunState


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def finished_runs(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Run).where(Run.state == RunState.SUCCESS)
        )
        db.session.remove()
    return count


def wait_until_idle(app, seconds: float = 120) -> None:
    """Until no run is waiting or running (or `seconds` passed)."""
    deadline = time.monotonic() + seconds
    while open_runs(app) and time.monotonic() < deadline:
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3000)
    args = parser.parse_args()

    settings = bench_settings()
    app = fresh_database(settings)
    trigger_id = create_workflow(app, "runs")
    web, base_url = start_web(settings)
    processes = [web, start(settings, "worker"), start(settings, "worker")]
    try:
        url = f"{base_url}/i/{trigger_id}"
        print(f"machine: {machine()}")
        print("web: gunicorn 4 workers x 2 threads; 2 RQ worker processes; one-step workflow")

        # Warm up at the measured rate: the workers' sandboxes start, and every process
        # opens the database and Redis connections that rate needs (a PostgreSQL backend
        # takes tens of milliseconds to start here), so the figures are the steady state.
        fire(url, args.rate, 3)
        wait_until_idle(app)
        with app.app_context():
            warmed = db.session.scalar(select(func.count()).select_from(Run))
            db.session.remove()

        # 1. Start latency at a fixed arrival rate, workers keeping up.
        accepted = fire(url, args.rate, args.seconds)
        print(f"accepted at {args.rate} req/s: p50 {accepted.percentile_ms(0.5):.1f} ms, "
              f"p99 {accepted.percentile_ms(0.99):.1f} ms, {accepted.errors} errors")  # fmt: skip
        wait_until_idle(app)
        with app.app_context():
            rows = (
                db.session.execute(
                    text(
                        "SELECT EXTRACT(EPOCH FROM (r.started_at - w.inserted_at)) * 1000 "
                        "FROM runs r JOIN work_orders w ON w.id = r.work_order_id "
                        "WHERE r.started_at IS NOT NULL ORDER BY w.inserted_at OFFSET :warmed"
                    ),
                    {"warmed": warmed},
                )
                .scalars()
                .all()
            )
            db.session.remove()
        latencies = [float(v) for v in rows]
        print(
            f"start latency at {args.rate} req/s over {len(latencies)} runs: "
            f"p50 {statistics.median(latencies):.1f} ms, "
            f"p99 {percentile(latencies, 0.99):.1f} ms"
        )

        # 2. Runs/s: queue a batch as fast as possible, then time until all have finished,
        # between two rounds of the bare-fork reference (the floor of a sandboxed step).
        references = [reference_round(REFERENCE)]
        before = finished_runs(app)
        began = time.monotonic()
        fire(url, 1000, max(1, args.runs // 1000))
        with app.app_context():
            total = db.session.scalar(select(func.count()).select_from(Run))
            db.session.remove()
        while finished_runs(app) < total and time.monotonic() - began < 600:
            time.sleep(0.2)
        elapsed = time.monotonic() - began
        done = finished_runs(app) - before
        print(
            f"end to end: {done} runs in {elapsed:.1f} s = {done / elapsed:.0f} runs/s "
            "(every run's work order, run, step run, dataclips and logs persisted)"
        )
        references.append(reference_round(REFERENCE))
        fork_cpu_ms = statistics.mean(r.cpu_ms for r in references)
        ceiling = (os.cpu_count() or 1) * 1000 / fork_cpu_ms
        print(
            f"reference, same run: a bare fork per step costs {fork_cpu_ms:.2f} ms of CPU "
            f"({' / '.join(f'{r.cpu_ms:.2f}' for r in references)}), so these cores could fork "
            f"{ceiling:.0f} bare steps/s; the runs/s above are {done / elapsed / ceiling:.2f} of "
            f"that: a whole run (webhook, SQL, Redis, worker, sandbox) costs "
            f"{ceiling * elapsed / done:.1f} bare forks"
        )
    finally:
        stop(processes)


if __name__ == "__main__":
    main()
