"""Webhook accept throughput: gunicorn (`ferry web`), PostgreSQL and Redis on this machine,
`loadgen` firing POSTs at fixed, evenly spaced rates. Target: 1,000 req/s with p99 <= 100 ms
and no errors.

    .venv/bin/python bench/webhook_accept.py [--rates 250,500,1000,1250] [--seconds 15]
"""

from __future__ import annotations

import argparse

from loadgen import fire
from stack import (
    bench_settings,
    create_workflow,
    fresh_database,
    machine,
    start_web,
    stop,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="250,500,1000,1250")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--web-workers", type=int, default=4)
    args = parser.parse_args()

    settings = bench_settings()
    app = fresh_database(settings)
    trigger_id = create_workflow(app, "accept")
    web, base_url = start_web(settings, workers=args.web_workers)
    try:
        url = f"{base_url}/i/{trigger_id}"
        fire(url, 200, 3)  # warm up every gunicorn worker
        print(f"machine: {machine()}")
        print(f"web: gunicorn, {args.web_workers} workers x 2 threads; no run workers")
        print(f"{'rate':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for rate in (int(r) for r in args.rates.split(",")):
            f = fire(url, rate, args.seconds)
            print(
                f"{rate:>6} {f.throughput:>8.0f} {f.percentile_ms(0.5):>8.1f} "
                f"{f.percentile_ms(0.99):>8.1f} {f.errors:>7}"
            )
    finally:
        stop([web])


if __name__ == "__main__":
    main()
