"""Scale-out: N `ferry web` and M `ferry worker` processes (and one scheduler) against one
PostgreSQL database and one Redis. Prints runs/s end to end, duplicates found (must be 0),
runs per worker, and the PostgreSQL and Redis load per 1,000 runs (docs/scaling.md).

    REDIS_URL=redis://127.0.0.1:6392/0 .venv/bin/python bench/scale_out.py \\
        [--web 2] [--workers 4] [--runs 2000] [--rate 150] [--rounds 1]

Each round runs the chosen size and then the reference size (`--ref-web 1 --ref-workers 2`,
the layout of bench/run_throughput.py), each on a freshly created database, so runs/s is
also given as a ratio to the reference measured in the same round. Webhooks arrive at
`--rate` per second in all (open loop, split evenly over the web processes) with one
workflow step that adds one to the body; 2% of them are idempotency keys sent to every web
process at the same moment. REDIS_URL must be a Redis server of its own: its INFO counters
are server-wide.
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import threading
import time
import uuid

import httpx
from loadgen import fire
from redis import Redis
from rq import Worker
from scale_load import LoadCounters, per_thousand, print_load
from sqlalchemy import text
from sqlalchemy.engine import make_url
from stack import bench_settings, free_port, fresh_database, machine, start, stop, wait_for_http

from app.config import Settings
from app.extensions import db

ADD_ONE = """
name: Scale out
triggers:
  hook:
    type: webhook
jobs:
  add:
    name: add
    adaptor: common@1
    body: |
      fn(lambda state: {**state, "data": {"n": state["data"]["n"] + 1}})
edges:
  hook->add:
    source_trigger: hook
    target_job: add
"""
FINAL = ["success", "failed", "crashed", "killed", "cancelled", "exception", "lost"]
KEYED_SHARE = 0.02
# pg_stat_database counters reach the shared statistics within 10 s of a backend going idle.
STATS_SETTLE_S = 11
BOOT_S = 300


def settings_for(base: Settings) -> Settings:
    """The bench settings on a database of this script's own (others use ferry_bench)."""
    url = make_url(base.database_url).set(database="ferry_bench_scale_out")
    return Settings(
        env="test", database_url=url.render_as_string(hide_password=False), redis_url=base.redis_url
    )


def create_workflow(app) -> str:
    from app.services import accounts, projects
    from app.services.workflows import store

    with app.app_context():
        user = accounts.create_user("scale@example.org", "correct horse battery staple")
        project = projects.create_project(user, "Scale out")
        trigger_id = str(store.create_workflow(project.id, ADD_ONE).triggers[0].id)
        db.session.remove()
    return trigger_id


def scalar(app, statement: str, **params):
    with app.app_context():
        value = db.session.scalar(text(statement), params)
        db.session.remove()
    return value


def wait_for_runs(app, at_least: int, seconds: float = 900) -> None:
    """Until at least `at_least` runs exist, every one is final, and that stays so for 2 s
    (a request the load generator gave up on may still have been accepted)."""
    deadline = time.monotonic() + seconds
    # One statement, so that a run inserted between two counts cannot slip through.
    query = "SELECT count(*) FILTER (WHERE state::text = ANY(:final)), count(*) FROM runs"
    settled = None
    while time.monotonic() < deadline:
        with app.app_context():
            final, total = db.session.execute(text(query), {"final": FINAL}).one()
            db.session.remove()
        if total >= at_least and final == total:
            if settled and settled[0] == total and time.monotonic() - settled[1] >= 2:
                return
            settled = settled if settled and settled[0] == total else (total, time.monotonic())
        else:
            settled = None
        time.sleep(0.25)
    raise RuntimeError(f"runs still open after {seconds} s")


class Ferry:
    """The processes of one layout: web processes, workers, the scheduler."""

    def __init__(self, settings: Settings, webs: int, workers: int, gunicorn: int, threads: int):
        self.settings, self.processes, self.urls = settings, [], []
        for _ in range(webs):
            port = free_port()
            address = ["--host", "127.0.0.1", "--port", str(port)]
            sizes = ["--workers", str(gunicorn), "--threads", str(threads), "--no-access-log"]
            self.processes.append(start(settings, "web", *address, *sizes))
            self.urls.append(f"http://127.0.0.1:{port}")
        self.workers = [start(settings, "worker") for _ in range(workers)]
        self.processes += [*self.workers, start(settings, "scheduler")]
        try:
            self._wait_until_ready(workers)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, workers: int) -> None:
        # Generous: on a loaded machine gunicorn alone can take minutes to boot.
        for url in self.urls:
            wait_for_http(f"{url}/health", BOOT_S)
        redis = Redis.from_url(self.settings.redis_url)
        deadline = time.monotonic() + BOOT_S
        while len(Worker.all(connection=redis)) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not register")
            time.sleep(0.2)

    def stop(self) -> None:
        stop(self.processes)


def send_keyed(urls: list[str], trigger: str, keys: list[str], replies: dict) -> None:
    """Each key to every web process at the same moment (one thread per web process)."""
    barrier = threading.Barrier(len(urls))

    def sender(index: int) -> None:
        with httpx.Client(timeout=60) as client:
            for key in keys:
                barrier.wait(timeout=120)
                response = client.post(
                    f"{urls[index]}/i/{trigger}", json={"n": 1}, headers={"Idempotency-Key": key}
                )
                replies[key][index] = (response.status_code, response.json())

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def send_load(ferry: Ferry, trigger: str, runs: int, rate: int, keys: list[str]):
    """Plain webhooks at `rate`/s split over the web processes, with the keyed ones beside."""
    plain = runs - len(keys)
    share, rest = divmod(plain, len(ferry.urls))
    results, replies = [], collections.defaultdict(lambda: [None] * len(ferry.urls))

    def load(index: int) -> None:
        count = share + (1 if index < rest else 0)
        per_web = rate / len(ferry.urls)
        # Half a request more: fire() sends int(rate * seconds), which rounding may cut short.
        seconds = (count + 0.5) / per_web
        results.append(fire(f"{ferry.urls[index]}/i/{trigger}", per_web, seconds, b'{"n": 1}'))

    threads = [threading.Thread(target=load, args=(i,)) for i in range(len(ferry.urls))]
    threads.append(threading.Thread(target=send_keyed, args=(ferry.urls, trigger, keys, replies)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, replies


def check(app, keys: list[str], replies: dict, results) -> dict[str, int]:
    """Every kind of duplicate or loss this layout could produce, counted (all must be 0)."""
    problems = {
        "keys answered with two work orders": sum(
            1 for pair in replies.values() if len({body["work_order_id"] for _, body in pair}) > 1
        ),
    }
    counts = {
        "work orders without exactly one run": "SELECT count(*) FROM (SELECT w.id FROM "
        "work_orders w LEFT JOIN runs r ON r.work_order_id = w.id GROUP BY w.id "
        "HAVING count(r.id) <> 1) x",
        "runs without exactly one step run": "SELECT count(*) FROM (SELECT r.id FROM runs r "
        "LEFT JOIN step_runs s ON s.run_id = r.id GROUP BY r.id HAVING count(s.id) <> 1) x",
        "runs not successful or without a worker": "SELECT count(*) FROM runs "
        "WHERE state::text <> 'success' OR worker_name IS NULL OR claimed_at IS NULL",
        "runs with a wrong output": "SELECT count(*) FROM runs r LEFT JOIN dataclips d "
        "ON d.id = r.final_dataclip_id WHERE d.body -> 'data' IS DISTINCT FROM '{\"n\": 2}'",
        "keys with more than one work order": "SELECT count(*) FROM (SELECT idempotency_key "
        "FROM work_orders WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key "
        "HAVING count(*) > 1) x",
    }
    for name, statement in counts.items():
        problems[name] = scalar(app, statement)
    problems["keys without a work order"] = len(keys) - scalar(
        app, "SELECT count(DISTINCT idempotency_key) FROM work_orders"
    )
    return problems


def _http_errors(results, replies) -> str:
    """Requests not answered 200, by kind: "0" when none."""
    statuses = collections.Counter()
    for result in results:
        statuses.update({s: n for s, n in result.statuses.items() if s != 200})
        statuses["no answer"] += result.failures
    for pair in replies.values():
        statuses.update(status for status, _ in pair if status != 200)
    found = {str(kind): n for kind, n in statuses.items() if n}
    return ", ".join(f"{n} x {kind}" for kind, n in found.items()) or "0"


def one_layout(base: Settings, args, webs: int, workers: int, measure_load: bool) -> dict:
    """Start the layout on a fresh database, warm it up, send the load, check and measure."""
    settings = settings_for(base)
    app = fresh_database(settings)
    counters = LoadCounters(app, settings.redis_url) if measure_load else None
    trigger = create_workflow(app)
    ferry = Ferry(settings, webs, workers, args.gunicorn_workers, args.threads)
    try:
        warm = 50 * webs
        results, _ = send_load(ferry, trigger, warm, min(args.rate, 100), [])
        wait_for_runs(app, sum(result.statuses[200] for result in results))
        warm = scalar(app, "SELECT count(*) FROM runs")
        if counters:
            time.sleep(STATS_SETTLE_S)
            counters.idle_window(args.idle)
        keys = [f"key-{uuid.uuid4().hex[:12]}" for _ in range(int(args.runs * KEYED_SHARE))]
        began = time.monotonic()
        results, replies = send_load(ferry, trigger, args.runs, args.rate, keys)
        accepted = sum(result.statuses[200] for result in results) + len(keys)
        wait_for_runs(app, warm + accepted)  # a key sent to every web process: one run
        elapsed = time.monotonic() - began - 2  # less the 2 s of making sure
        if counters:
            time.sleep(STATS_SETTLE_S)
            counters.after_load()
        with app.app_context():
            per_worker = dict(
                db.session.execute(
                    text("SELECT worker_name, count(*) FROM runs GROUP BY 1 ORDER BY 1")
                ).all()
            )
            connections = db.session.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            )
            db.session.remove()
        runs = scalar(app, "SELECT count(*) FROM runs")
        return {
            "runs/s": (runs - warm) / elapsed,
            "elapsed": elapsed,
            "problems": check(app, keys, replies, results),
            # Not duplicates: requests the load generator gave up on (15 s after the last was
            # due) or answered other than 200, on a machine too loaded to keep up.
            "http": _http_errors(results, replies),
            "per_worker": per_worker,
            "connections": connections,
            "load": per_thousand(counters, runs - warm) if counters else None,
        }
    finally:
        ferry.stop()
        with app.app_context():
            db.engine.dispose()


def main() -> None:
    # Stopped with SIGTERM: the `finally` blocks still stop every process started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=150, help="webhooks/s in all")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--ref-web", type=int, default=1)
    parser.add_argument("--ref-workers", type=int, default=2)
    parser.add_argument("--gunicorn-workers", type=int, default=2, help="per web process")
    parser.add_argument("--threads", type=int, default=4, help="per gunicorn worker")
    parser.add_argument("--idle", type=float, default=10, help="idle window for background load")
    args = parser.parse_args()
    base = bench_settings()
    print(f"machine: {machine()}")
    print(
        f"layout: {args.web} web x ({args.gunicorn_workers} gunicorn workers x {args.threads} "
        f"threads), {args.workers} workers, 1 scheduler; reference {args.ref_web} web, "
        f"{args.ref_workers} workers; {args.runs} webhooks at {args.rate}/s, one-step workflow"
    )
    for round_number in range(1, args.rounds + 1):
        chosen = one_layout(base, args, args.web, args.workers, measure_load=round_number == 1)
        reference = one_layout(base, args, args.ref_web, args.ref_workers, measure_load=False)
        for name, result in (("chosen", chosen), ("reference", reference)):
            duplicates = sum(result["problems"].values())
            print(
                f"round {round_number} {name}: {result['runs/s']:.1f} runs/s "
                f"({result['elapsed']:.1f} s), duplicates found: {duplicates}, "
                f"HTTP errors: {result['http']}, "
                f"database connections open: {result['connections']}"
            )
            for problem, count in result["problems"].items():
                if count:
                    print(f"    {problem}: {count}")
            counts = ", ".join(str(n) for n in result["per_worker"].values())
            print(f"    runs per worker: {counts}")
        ratio = chosen["runs/s"] / reference["runs/s"]
        print(f"round {round_number}: chosen / reference = {ratio:.2f}")
        if chosen["load"]:
            print_load(chosen["load"])


if __name__ == "__main__":
    main()
