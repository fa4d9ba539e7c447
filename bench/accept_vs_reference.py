"""Webhook accept against the reference, alternating in one run: the leanest durable accept
on this stack (`../shared/bench-reference/lean_accept.py`, gunicorn with 4 sync workers) and
`ferry web` with its defaults, each loaded with `wrk -t2 -c16 -d10s` POSTing the reference's
90-byte body (`post.lua`). Target: Ferry >= 0.8x the reference's req/s, p99 <= 100 ms,
no errors.

    .venv/bin/python bench/accept_vs_reference.py [--rounds 3] [--seconds 10] [--ferry-args ...]

Needs `wrk` (`apt-get install -y wrk`) and psycopg-pool (in the dev lock).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

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

REFERENCE = ROOT.parent / "shared" / "bench-reference"
REFERENCE_TABLES = """
create table work_orders(id uuid primary key, trigger_id text,
                         created_at timestamptz default now());
create table dataclips(id uuid primary key, body jsonb, request jsonb);
create table runs(id uuid primary key, work_order_id uuid, dataclip_id uuid, state text,
                  created_at timestamptz default now());
"""


def reference_database(admin_url: str) -> str:
    """A fresh `physref` database with the reference's three tables; returns its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS physref WITH (FORCE)")
        conn.execute("CREATE DATABASE physref")
    url = admin_url.rsplit("/", 1)[0] + "/physref"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(REFERENCE_TABLES)
    return url


def start_reference(database_url: str, redis_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PHYSREF_DB": database_url, "PHYSREF_REDIS": redis_url}
    gunicorn = [sys.executable, "-m", "gunicorn", "--chdir", str(REFERENCE)]
    process = subprocess.Popen(
        [*gunicorn, "-b", f"127.0.0.1:{port}", "-k", "sync", "-w", "4", "lean_accept:app"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for_http(base + "/", seconds=180)
    return process, base + "/i/abc"


def wrk(url: str, seconds: int) -> dict:
    """One wrk run with the reference's load; its req/s, p99 (ms) and errors."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c16",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(REFERENCE / "post.lua"),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: (.*)"):
        found = re.search(pattern, out)
        if found:
            errors += sum(int(n) for n in re.findall(r"\d+", found.group(1)))
    return {"rate": rate, "p99": p99_ms, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--ferry-args", default="", help="extra `ferry web` options (default: none, its defaults)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")

    settings = bench_settings()
    app = fresh_database(settings)
    trigger_id = create_workflow(app, "accept")
    admin_url = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    reference_url = reference_database(admin_url.replace("postgresql+psycopg", "postgresql"))
    reference_redis = settings.redis_url.rsplit("/", 1)[0] + "/13"

    port = free_port()
    ferry = start(
        settings,
        "web",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *shlex.split(args.ferry_args),
    )
    reference, reference_target = start_reference(reference_url, reference_redis)
    ferry_target = f"http://127.0.0.1:{port}/i/{trigger_id}"
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", seconds=180)  # 4 workers importing
        for url in (reference_target, ferry_target):  # warm every worker and connection
            wrk(url, 2)
        print(f"machine: {machine()}")
        print(f"ferry web {args.ferry_args or '(defaults)'}; reference: gunicorn -k sync -w 4")
        print(
            f"{'round':>5} {'ref req/s':>10} {'ref p99':>8} {'ferry req/s':>12} "
            f"{'ferry p99':>10} {'errors':>7} {'ratio':>6}"
        )
        ratios = []
        for number in range(1, args.rounds + 1):
            ref = wrk(reference_target, args.seconds)
            time.sleep(1)
            got = wrk(ferry_target, args.seconds)
            time.sleep(1)
            ratio = got["rate"] / ref["rate"]
            ratios.append(ratio)
            print(
                f"{number:>5} {ref['rate']:>10.0f} {ref['p99']:>8.1f} {got['rate']:>12.0f} "
                f"{got['p99']:>10.1f} {got['errors']:>7} {ratio:>6.2f}"
            )
        print(
            f"ratio median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f}); target >= 0.80"
        )
    finally:
        stop([ferry, reference])


if __name__ == "__main__":
    main()
