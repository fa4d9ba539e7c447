"""Where a webhook accept's CPU goes inside the web process: the WSGI app called in-process
(no HTTP server, no load generator), its CPU per request counted with `time.process_time`,
then profiled with cProfile on the same clock and summed by where the time is spent.

    .venv/bin/python bench/accept_profile.py [--requests 3000] [--top 25]

The figure is the web process's share only; PostgreSQL's and Redis's CPU for the same
request are in `cpu_breakdown.py`. `py-spy` is no help on this VM (it counts threads waiting
on a socket as busy), hence cProfile with a CPU clock.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections import Counter

from stack import bench_settings, create_workflow, fresh_database, machine

from app import create_app

BODY = b'{"patient": {"id": 12345, "name": "Ama Mensah", "district": "Kumasi", "visits": [1,2,3]}}'
# Where a function's own time is counted, by the first path fragment that matches.
AREAS = (
    ("psycopg", "SQL client (psycopg)"),
    ("sqlalchemy", "connection pool (SQLAlchemy)"),
    ("redis", "Redis client (redis-py)"),
    ("werkzeug", "WSGI request parsing (Werkzeug)"),
    ("flask", "Flask (app context, JSON)"),
    ("/app/", "Ferry's own code"),
    ("json", "JSON (standard library)"),
    ("uuid", "uuid (standard library)"),
)


def environ(trigger_id: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/i/{trigger_id}",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(BODY)),
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.input": io.BytesIO(BODY),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "REMOTE_ADDR": "127.0.0.1",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    settings = bench_settings()
    trigger_id = create_workflow(fresh_database(settings), "profile")
    application = create_app(settings)

    def accept() -> None:
        statuses = []
        body = b"".join(application(environ(trigger_id), lambda s, h, e=None: statuses.append(s)))
        if not statuses[0].startswith("200"):
            raise SystemExit(f"the webhook was refused: {statuses[0]} {body[:200]!r}")

    for _ in range(300):  # warm: connections open, statements prepared, target kept
        accept()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.requests):
        accept()
    cpu_ms = (time.process_time() - cpu) / args.requests * 1000
    wall_ms = (time.perf_counter() - wall) / args.requests * 1000

    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(args.requests):
        accept()
    profile.disable()
    stats = pstats.Stats(profile)
    by_area: Counter[str] = Counter()
    total = 0.0
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        total += own
        area = next((name for fragment, name in AREAS if fragment in filename), "other")
        by_area[area] += own

    print(f"machine: {machine()}")
    print(f"web process CPU per accepted webhook: {cpu_ms:.3f} ms (wall {wall_ms:.3f} ms)")
    print("share of that CPU by area (cProfile on the CPU clock; its overhead spreads evenly):")
    for area, seconds in by_area.most_common():
        print(f"  {area:<34} {seconds / total:6.1%}  ~{cpu_ms * seconds / total:.3f} ms")
    print()
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
