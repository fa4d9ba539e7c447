"""Collections at scale: fills one collection with 1,000,000 entries (~150-byte JSON values,
keys "patient-0000000" ...) by COPY, then measures server time of `get` of one key and of a
100-key prefix page, through the service and through the HTTP API (Flask test client, a
personal API token), in-process.

Target at 1M entries: p95 <= 10 ms for both.

    .venv/bin/python bench/collections_get.py [--entries 1000000] [--repeat 500]
    .venv/bin/python bench/collections_get.py --reuse     # measure again without re-filling
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import time

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from stack import bench_settings, fresh_database, machine

from app import create_app
from app.extensions import db
from app.models import Collection
from app.services import accounts, projects
from app.services.collections import items, store

DATABASE = "ferry_bench_collections"
NAME = "patients"
EMAIL = "bench-collections@example.org"


def _settings():
    base = bench_settings()
    url = make_url(base.database_url).set(database=DATABASE)
    return dataclasses.replace(base, database_url=url.render_as_string(hide_password=False))


def fill(settings, entries: int) -> None:
    """A fresh database with one project, one collection and `entries` entries (COPY)."""
    app = fresh_database(settings)
    with app.app_context():
        user = accounts.create_user(EMAIL, "correct horse battery staple")
        project = projects.create_project(user, "Bench collections")
        collection = store.create_collection(project.id, NAME)
        collection_id = collection.id
        db.session.remove()
        db.engine.dispose()
    url = make_url(settings.database_url).set(drivername="postgresql")
    started = time.monotonic()
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        with conn.cursor().copy(
            "COPY collection_items (collection_id, key, value) FROM STDIN"
        ) as copy:
            for n in range(entries):
                value = {"id": n, "name": f"Patient {n}", "village": f"Village-{n % 500:03}",
                         "visits": [n % 7, n % 11], "active": n % 3 != 0}  # fmt: skip
                copy.write_row((collection_id, f"patient-{n:07}", json.dumps(value)))
        conn.execute("ANALYZE collection_items")
    print(f"filled {entries:,} entries in {time.monotonic() - started:.0f} s")


def measure(settings, entries: int, repeat: int) -> None:
    """p50/p95/max of get(one key) and a 100-key prefix page, service and HTTP API."""
    app = create_app(settings)
    app.config.update(TESTING=True)
    rng = random.Random(17)
    with app.app_context():
        project_id = db.session.scalar(select(Collection.project_id).where(Collection.name == NAME))
        token = accounts.create_api_token(EMAIL)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        base = f"/api/v1/projects/{project_id}/collections/{NAME}"

        def one_key():
            key = f"patient-{rng.randrange(entries):07}"
            assert items.get_item(project_id, NAME, key) is not None
            db.session.remove()

        def prefix_page():
            # "patient-01234*" holds exactly 100 keys (patient-0123400 ... patient-0123499).
            prefix = f"patient-{rng.randrange(entries // 100):05}*"
            assert len(items.list_items(project_id, NAME, prefix, limit=100).items) == 100
            db.session.remove()

        def api_key():
            key = f"patient-{rng.randrange(entries):07}"
            assert client.get(f"{base}/{key}", headers=headers).status_code == 200

        def api_page():
            prefix = f"patient-{rng.randrange(entries // 100):05}*"
            answer = client.get(base, headers=headers, query_string={"key": prefix, "limit": 100})
            assert len(answer.get_json()["items"]) == 100

        print(f"\n{machine()}; {entries:,} entries in one collection, {repeat} requests each")
        print(f"{'request':<44}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for name, call in [
            ("service: get one key", one_key),
            ("service: 100-key prefix page", prefix_page),
            ("HTTP API: get one key", api_key),
            ("HTTP API: 100-key prefix page", api_page),
        ]:
            for _ in range(20):  # warm the caches and the connection pool
                call()
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                call()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = timings[min(len(timings) - 1, int(0.95 * len(timings)))]
            print(f"{name:<44}{timings[len(timings) // 2]:>9.2f}{p95:>9.2f}{timings[-1]:>9.2f}")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="measure without re-filling")
    args = parser.parse_args()
    settings = _settings()
    if not args.reuse:
        fill(settings, args.entries)
    measure(settings, args.entries, args.repeat)


if __name__ == "__main__":
    main()
