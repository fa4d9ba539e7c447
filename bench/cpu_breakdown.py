"""Where the CPU goes: milliseconds of CPU per webhook and per run, by process.

Everything shares two cores, so CPU per request sets the ceilings in the README. Two phases:

1. webhooks at a fixed rate with no run worker: CPU of gunicorn, PostgreSQL, Redis and the
   load generator (this process) per accepted request;
2. two warm workers drain the runs those webhooks queued while RQ was suspended
   (`rq:suspended`, which RQ workers honour): CPU of the workers, their sandbox servers
   (children included), PostgreSQL and Redis per run.

Counted from /proc (user + system time, and that of reaped children), so nothing is
instrumented. `py-spy` is no help here: on this VM it counts threads waiting on a socket as
busy.

    .venv/bin/python bench/cpu_breakdown.py [--rate 250] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

from loadgen import fire
from redis import Redis
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

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """Every process's command (first words) and CPU seconds, its reaped children's included."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_text().replace("\0", " ").split()
        except OSError:
            continue  # it ended meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        found[int(entry.name)] = (_label(command), ticks / TICKS_PER_S)
    return found


def _label(command: list[str]) -> str:
    text = " ".join(command)
    for marker, label in (
        ("gunicorn", "gunicorn (web)"),
        ("sandbox_server", "sandbox servers and step children"),
        ("workers worker", "RQ workers"),
        ("postgres", "PostgreSQL"),
        ("redis-server", "Redis"),
        ("cpu_breakdown", "load generator (this process)"),
    ):
        if marker in text:
            return label
    return "other"


def report(before: dict, after: dict, count: int, what: str) -> None:
    spent: Counter[str] = Counter()
    for pid, (label, seconds) in after.items():
        spent[label] += seconds - before.get(pid, (label, 0.0))[1]
    print(f"CPU per {what}:")
    for label, seconds in spent.most_common():
        if label != "other" and seconds > 0:
            print(f"  {1000 * seconds / count:6.2f} ms  {label}")
    print(f"  {1000 * sum(spent.values()) / count:6.2f} ms  all processes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    settings = bench_settings()
    app = fresh_database(settings)
    trigger_id = create_workflow(app, "cpu")
    redis = Redis.from_url(settings.redis_url)
    web, base_url = start_web(settings)
    workers = []
    try:
        url = f"{base_url}/i/{trigger_id}"
        print(f"machine: {machine()}")
        redis.set("rq:suspended", 1)
        fire(url, args.rate, 3)  # warm up at the measured rate

        before = cpu_by_process()
        result = fire(url, args.rate, args.seconds)
        answered = len(result.latencies_ms)
        print(f"{answered} webhooks at {args.rate} req/s, p99 {result.percentile_ms(0.99):.1f} ms")
        report(before, cpu_by_process(), answered, "webhook")

        workers = [start(settings, "worker"), start(settings, "worker")]
        time.sleep(5)  # the workers start and their sandbox servers preload
        queued = open_runs(app)
        before, began = cpu_by_process(), time.monotonic()
        redis.delete("rq:suspended")
        while open_runs(app) and time.monotonic() - began < 600:
            time.sleep(0.25)
        elapsed = time.monotonic() - began
        print(f"{queued} runs drained by two workers in {elapsed:.1f} s: {queued / elapsed:.0f}/s")
        report(before, cpu_by_process(), queued, "run (one trivial step)")
    finally:
        redis.delete("rq:suspended")
        stop([web, *workers])


if __name__ == "__main__":
    main()
