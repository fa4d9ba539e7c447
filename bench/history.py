"""History page speed at scale: seeds one project with 1,000,000 work orders (each with its
~2 KB input dataclip, a run, step runs and log lines, over 90 days) by COPY, then measures
server time of the history page in-process (Flask test client, signed in).

Targets at 1M: p95 <= 150 ms for pages, <= 1 s for a dataclip text search over 30 days.

    .venv/bin/python bench/history.py [--work-orders 1000000] [--days 90] [--repeat 30]
    .venv/bin/python bench/history.py --reuse     # measure again without re-seeding
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import random
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url
from stack import bench_settings, fresh_database, machine

from app import create_app
from app.extensions import db
from app.services import accounts, projects
from app.services.workflows import snapshots, store

DATABASE = "ferry_bench_history"
TABLES = ("dataclips", "work_orders", "runs", "step_runs", "log_lines")
FLOW = """
name: {name}
triggers:
  webhook:
    type: webhook
jobs:
  fetch:
    name: Fetch from CommCare
    adaptor: common@1
    body: |
      fn(lambda state: state)
  load:
    name: Load into DHIS2
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  webhook-fetch:
    source_trigger: webhook
    target_job: fetch
  fetch-load:
    source_job: fetch
    target_job: load
    condition_type: on_job_success
"""
FIRST = [
    f"{a}{b}"
    for a in ("Am", "Ko", "Fa", "Ib", "Ze", "Mu", "Gr", "Jo", "Ha", "Ye")
    for b in ("ina", "fi", "tou", "rahim", "nab", "sa", "ace", "seph", "wa", "rin")
]
LAST = [
    f"{a}{b}"
    for a in ("Dia", "Men", "So", "Bel", "Oka", "Ki", "Mwa", "Ach", "Ba", "Tra")
    for b in ("llo", "sah", "w", "lo", "for", "bet", "ngi", "ieng", "nda", "ore")
]
VILLAGES = [f"Village-{n:03d}" for n in range(500)]
STATES = (
    ["success"] * 880
    + ["failed"] * 60
    + ["crashed"] * 20
    + ["killed"] * 10
    + ["lost"] * 10
    + ["exception"] * 10
    + ["cancelled"] * 10
)


def settings_for_bench():
    base = bench_settings()
    url = make_url(base.database_url).set(database=DATABASE)
    return dataclasses.replace(base, database_url=url.render_as_string(hide_password=False))


def body(rng: random.Random, number: int) -> str:
    """A ~2 KB webhook body, like a CommCare case with its observations."""
    observations = [
        {
            "code": f"OBS-{rng.randint(100, 999)}",
            "value": round(rng.uniform(0, 200), 1),
            "unit": rng.choice(["mg/dL", "kg", "cm", "mmHg"]),
            "status": "final",
            "recorded_by": f"CHW-{rng.randint(1000, 9999)}",
        }
        for _ in range(12)
    ]
    return json.dumps(
        {
            "patient": {
                "id": f"P-{number:07d}",
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "phone": f"+2547{rng.randint(0, 99_999_999):08d}",
                "village": rng.choice(VILLAGES),
                "sex": rng.choice("FM"),
                "birth_date": f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            },
            "encounter": {"form": "household_visit", "observations": observations},
            "meta": {"app_version": "2.53.1", "device": f"android-{rng.randint(1, 5000)}"},
        }
    )


def seed(settings, count: int, days: int) -> str:
    """Create the project and its workflows, then COPY `count` work orders in; returns the
    project id. Indexes are dropped during the load and rebuilt after, as for any bulk load."""
    app = fresh_database(settings)
    with app.app_context():
        owner = accounts.create_user("bench@example.org", "correct horse battery staple")
        project = projects.create_project(owner, "Bench history")
        flows = []
        for name in ("Patient sync", "Stock levels", "Referrals"):
            flow = store.get_workflow(store.create_workflow(project.id, FLOW.format(name=name)).id)
            steps = [(s.id, s.name) for s in sorted(flow.steps, key=lambda s: s.key != "fetch")]
            flows.append(
                (flow.id, flow.triggers[0].id, snapshots.latest_snapshot(flow.id).id, steps)
            )
        project_id = project.id
        db.session.remove()
        db.engine.dispose()
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        definitions = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT LIKE 'pk_%%' AND indexname NOT LIKE 'uq_%%'",
            (list(TABLES),),
        ).fetchall()
        for name, _ in definitions:
            conn.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        _copy(dsn, project_id, flows, count, days)
        loaded = time.perf_counter() - started
        print(
            f"loaded {count:,} work orders in {loaded:.0f} s; rebuilding {len(definitions)} indexes"
        )
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '1GB'")
        for _, definition in definitions:
            conn.execute(definition)
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
        print(f"indexes and ANALYZE took {time.perf_counter() - started:.0f} s")
    return str(project_id)


COPIES = {
    "dataclips": "id, project_id, type, body, request, inserted_at",
    "work_orders": "id, project_id, workflow_id, trigger_id, snapshot_id, dataclip_id, state, "
    "inserted_at, last_activity_at",
    "runs": "id, work_order_id, project_id, workflow_id, snapshot_id, starting_trigger_id, "
    "dataclip_id, state, priority, inserted_at, started_at, finished_at",
    "step_runs": "id, run_id, step_id, step_name, input_dataclip_id, exit_reason, started_at, "
    "finished_at",
    "log_lines": "id, run_id, step_run_id, level, source, message, timestamp",
}


def _copy(dsn: str, project_id, flows, count: int, days: int) -> None:
    """One COPY per table, each on its own connection (a connection runs one COPY at once)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    span = days * 86400.0
    request = json.dumps({"method": "POST", "path": "/i/hook", "query": {}, "headers": {}})
    with contextlib.ExitStack() as stack:
        out = {}
        for table, columns in COPIES.items():
            conn = stack.enter_context(psycopg.connect(dsn))
            conn.execute("SET session_replication_role = replica")  # consistent rows: no FK checks
            out[table] = stack.enter_context(
                conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN")
            )
        for number in range(count):
            received = now - timedelta(seconds=span * (count - number) / count)
            flow_id, trigger_id, snapshot_id, flow_steps = flows[
                rng.choices((0, 1, 2), (6, 3, 1))[0]
            ]
            state = "running" if number >= count - 3 else rng.choice(STATES)
            clip_id, order_id, run_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            finished = received + timedelta(seconds=rng.uniform(0.2, 4))
            out["dataclips"].write_row(
                (clip_id, project_id, "http_request", body(rng, number), request, received)
            )
            out["work_orders"].write_row(
                (
                    order_id,
                    project_id,
                    flow_id,
                    trigger_id,
                    snapshot_id,
                    clip_id,
                    state,
                    received,
                    finished,
                )
            )
            run_state = "started" if state == "running" else state
            out["runs"].write_row(
                (
                    run_id,
                    order_id,
                    project_id,
                    flow_id,
                    snapshot_id,
                    trigger_id,
                    clip_id,
                    run_state,
                    1,
                    received,
                    received,
                    None if state == "running" else finished,
                )
            )
            for index, step in enumerate(flow_steps if state == "success" else flow_steps[:1]):
                step_id = uuid.uuid4()
                exit_reason = {"success": "success", "running": None}.get(state, state)
                out["step_runs"].write_row(
                    (
                        step_id,
                        run_id,
                        *step,
                        clip_id,
                        exit_reason,
                        received,
                        None if exit_reason is None else finished,
                    )
                )
                message = (
                    f"Fetched patient P-{number:07d} from CommCare"
                    if index == 0
                    else f"DHIS2 answered 201 Created for P-{number:07d}"
                )
                out["log_lines"].write_row(
                    (uuid.uuid4(), run_id, step_id, "info", "job", message, received)
                )
            if number and number % 100_000 == 0:
                print(f"  {number:,} work orders written")


def measure(settings, project_id: str, repeat: int) -> None:
    """Time each history request `repeat` times in-process (after warming up) and print."""
    app = create_app(settings)
    client = app.test_client()
    with app.app_context():
        flows = dict(
            db.session.execute(
                db.text("SELECT name, id FROM workflows WHERE project_id = :p"), {"p": project_id}
            ).all()
        )
        db.session.remove()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text).group(1)
    client.post(
        "/login",
        data={
            "email": "bench@example.org",
            "csrf_token": token,
            "password": "correct horse battery staple",
        },
    )
    base = f"/projects/{project_id}/history"
    today = date.today()
    first = client.get(base).get_data(as_text=True)
    cursor = re.search(r"/history/rows\?cursor=([^\"&]+)", first).group(1)
    deep = cursor
    for _ in range(19):  # walk to page 20
        page = client.get(f"{base}/rows?cursor={deep}").get_data(as_text=True)
        deep = re.search(r"/history/rows\?cursor=([^\"&]+)", page).group(1)
    month = f"received_from={today - timedelta(days=30)}"
    window = f"received_from={today - timedelta(days=60)}&received_to={today - timedelta(days=30)}"
    stock = f"workflow={flows['Stock levels']}&state=failed&{window}"
    scenarios = [
        ("first page, no filter", base),
        ("count, no filter (capped at 1,000)", f"{base}/count"),
        (
            "workflow + state + dates",
            f"{base}?{stock}",
        ),
        (
            "count, workflow + state + dates",
            f"{base}/count?{stock}",
        ),
        ("next page (page 2)", f"{base}/rows?cursor={cursor}"),
        ("page 21", f"{base}/rows?cursor={deep}"),
        ("search input, 30 days, one patient id", f"{base}?q=P-0987654&in=input&{month}"),
        ("search input, 30 days, a name (~1 in 10,000)", f"{base}?q=Zenab+Traore&in=input&{month}"),
        ("search input, 30 days, a village (~1 in 500)", f"{base}?q=Village-123&in=input&{month}"),
        ("search input, 30 days, a word in every body", f"{base}?q=patient&in=input&{month}"),
        ("search input, 30 days, a word in none", f"{base}?q=Nakuru&in=input&{month}"),
        ("search logs, 30 days, one patient id", f"{base}?q=P-0987654&in=logs&{month}"),
        ("search logs, 30 days, a word in every line", f"{base}?q=patient&in=logs&{month}"),
        (
            "search ids + input + logs, one patient id",
            f"{base}?q=P-0987654&in=id&in=input&in=logs&{month}",
        ),
        (
            "search ids, a short id",
            f"{base}?q={re.search(r'<code title=.([0-9a-f]{8})', first).group(1)}&in=id",
        ),
    ]
    print(f"\n{'request':<48}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  rows")
    for name, url in scenarios:
        for _ in range(2):
            client.get(url)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        text = response.get_data(as_text=True)
        rows = len(re.findall(r'<tr id="wo-[0-9a-f-]{36}"', text))
        rows_note = re.search(r"(More than [\d,]+|[\d,]+) work order", text)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(0.95 * len(timings)))]
        note = rows_note.group(0) if "count" in name and rows_note else str(rows)
        print(f"{name:<48}{timings[len(timings) // 2]:>9.1f}{p95:>9.1f}{timings[-1]:>9.1f}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="measure the existing bench data")
    args = parser.parse_args()
    settings = settings_for_bench()
    print(f"Machine: {machine()}")
    if args.reuse:
        dsn = make_url(settings.database_url).set(drivername="postgresql")
        with psycopg.connect(dsn.render_as_string(False)) as conn:
            project_id = str(conn.execute("SELECT id FROM projects").fetchone()[0])
            count = conn.execute("SELECT count(*) FROM work_orders").fetchone()[0]
    else:
        project_id, count = seed(settings, args.work_orders, args.days), args.work_orders
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn) as conn:
        sizes = conn.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relname = ANY(%s) ORDER BY relname",
            (list(TABLES),),
        ).fetchall()
    print(
        f"{count:,} work orders over {args.days} days; sizes with indexes: "
        + ", ".join(f"{name} {size}" for name, size in sizes)
    )
    measure(settings, project_id, args.repeat)


if __name__ == "__main__":
    main()
