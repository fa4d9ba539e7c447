"""Memory on a large payload: a ~10 MB JSON webhook body through accept, a two-step run and
the pages a user opens, measured as each process's peak resident memory over its warm
baseline, as a ratio to the body's size (the reference, measured in the same run).

Processes: the gunicorn worker of a one-worker `ferry web` (so its RSS is one process), the
RQ worker (`ferry worker`, non-forking), its sandbox server, and the server's step children.
Peaks come from /proc/<pid>/status: VmHWM after resetting it (`clear_refs` 5) at the start
of each phase. Step children live a fraction of a second, so a thread reads the children's
VmHWM every millisecond and keeps each child's largest; a child's baseline is the spare
waiting for the next step (forked from the warm server, after a trivial job).

    REDIS_URL=redis://127.0.0.1:6391/0 .venv/bin/python bench/large_payload.py [--mb 10]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import threading
import time
from pathlib import Path

import httpx
from stack import (
    bench_settings,
    free_port,
    fresh_database,
    machine,
    start,
    stop,
    wait_for_http,
)

from app.extensions import db

TWO_STEPS = """
name: Large payload
triggers:
  hook:
    type: webhook
jobs:
  count:
    name: count
    adaptor: common@1
    body: |
      fn(lambda state: {**state, "data": {"records": state["data"], "count": len(state["data"])}})
  pass-on:
    name: pass on
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  hook->count:
    source_trigger: hook
    target_job: count
  count->pass-on:
    source_job: count
    target_job: pass-on
    condition_type: on_job_success
"""
PASSWORD = "correct horse battery staple"  # noqa: S105 -- the bench user's, in a throwaway database
MB = 1024 * 1024


def records_body(size: int) -> bytes:
    """A JSON array of patient-registration-like records, about `size` bytes."""
    rng = random.Random(18)
    districts = ["Kampala", "Gulu", "Mbarara", "Jinja", "Lira", "Masaka", "Arua", "Mbale"]
    names = ["Akello", "Nakato", "Okello", "Mugisha", "Namubiru", "Kato", "Achieng", "Ssemanda"]
    records, written, number = [], 2, 0
    while written < size:
        number += 1
        name = f"{rng.choice(names)} {rng.choice(names)}"
        record = {
            "id": number,
            "external_id": f"REG-{number:07d}",
            "name": name,
            "email": f"{name.lower().replace(' ', '.')}{number}@example.org",
            "birth_date": f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-{rng.randint(10, 28)}",
            "sex": rng.choice(["female", "male"]),
            "district": rng.choice(districts),
            "phone": f"+256 7{rng.randint(10_000_000, 99_999_999)}",
            "weight_kg": round(rng.uniform(3, 110), 1),
            "visits": [
                {"date": f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", "reason": "check-up"}
                for _ in range(rng.randint(0, 3))
            ],
            "notes": "registered at the clinic; follow up in three months" * rng.randint(0, 2),
        }
        text = json.dumps(record)
        records.append(text)
        written += len(text) + 2
    return ("[" + ", ".join(records) + "]").encode()


def status_kb(pid: int, field: str) -> int | None:
    """A VmRSS/VmHWM figure of a process in KiB; None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    """The process's children (all its threads')."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current VmRSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


class ChildSampler(threading.Thread):
    """Reads the VmHWM of every child of the sandbox server every millisecond."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid, self.peaks, self.running = server_pid, {}, True

    def run(self) -> None:
        while self.running:
            for child in children(self.server_pid):
                peak = status_kb(child, "VmHWM")
                if peak is not None and peak > self.peaks.get(child, 0):
                    self.peaks[child] = peak
            time.sleep(0.001)


def login(client: httpx.Client, email: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code in (200, 302), answer.status_code


def wait_for_run(app, run_id: str, seconds: float = 300) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            state = db.session.execute(
                db.text("SELECT state FROM runs WHERE id = :id"), {"id": run_id}
            ).scalar()
            db.session.remove()
        if state not in ("available", "claimed", "started"):
            return state
        time.sleep(0.05)
    raise RuntimeError(f"run {run_id} did not finish")


def user_pages(client: httpx.Client, project_id: str, run_id: str) -> int:
    """Open the run page, each step, and every download link found; the bytes received."""
    received = 0
    page = client.get(f"/projects/{project_id}/runs/{run_id}")
    received += len(page.content)
    steps = sorted(set(re.findall(r"[?&]step=([0-9a-f-]{36})", page.text)))
    links = set(re.findall(r'href="([^"]*/dataclips/[^"]*/download)"', page.text))
    for step in steps:
        answer = client.get(f"/projects/{project_id}/runs/{run_id}?step={step}")
        received += len(answer.content)
        links |= set(re.findall(r'href="([^"]*/dataclips/[^"]*/download)"', answer.text))
    for link in sorted(links):
        with client.stream("GET", link) as answer:
            for chunk in answer.iter_bytes():
                received += len(chunk)
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mb", type=float, default=9.5, help="body size in MB (limits: 10 MB a body and output)"
    )
    args = parser.parse_args()
    settings = bench_settings()
    app = fresh_database(settings)
    from app.services import accounts, projects
    from app.services.workflows import store

    with app.app_context():
        user = accounts.create_user("bench@example.org", PASSWORD)
        project = projects.create_project(user, "Bench large payload")
        workflow = store.create_workflow(project.id, TWO_STEPS)
        trigger_id, project_id = str(workflow.triggers[0].id), str(project.id)
        db.session.remove()
    body = records_body(int(args.mb * MB))
    size = len(body)
    print(machine())
    print(f"reference: the body, {size / MB:.2f} MB of JSON ({body.count(b'external_id')} records)")

    # One gunicorn worker, so that its RSS is the whole web side (started by hand: on a
    # loaded machine it may take longer than start_web waits).
    port = free_port()
    web = start(settings, "web", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--threads", "2", "--no-access-log")  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base_url}/health", seconds=180)
    worker = start(settings, "worker")
    processes = [web, worker]
    try:
        time.sleep(0.5)
        (web_pid,) = children(web.pid)
        deadline = time.monotonic() + 60
        while not (servers := [c for c in children(worker.pid) if "sandbox_server" in command(c)]):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker started no sandbox server")
            time.sleep(0.2)
        server_pid = servers[0]
        client = httpx.Client(base_url=base_url, timeout=120, follow_redirects=True)
        login(client, "bench@example.org")
        hook = f"/i/{trigger_id}"
        headers = {"content-type": "application/json"}

        # Warm-up: a small body through the same path, so every process has loaded its code.
        small = records_body(64 * 1024)
        for _ in range(3):
            ids = client.post(hook, content=small, headers=headers).json()
            wait_for_run(app, ids["run_id"])
            user_pages(client, project_id, ids["run_id"])
        time.sleep(0.5)
        pids = {
            "web (gunicorn worker)": web_pid,
            "RQ worker": worker.pid,
            "sandbox server": server_pid,
        }
        baseline = {name: status_kb(pid, "VmRSS") for name, pid in pids.items()}
        spares = children(server_pid)
        child_baseline = max(status_kb(c, "VmRSS") or 0 for c in spares) if spares else 0
        peaks = dict.fromkeys(pids, 0)
        web_phases = []

        def phase_peaks() -> None:
            for name, pid in pids.items():
                peak = status_kb(pid, "VmHWM") or 0
                peaks[name] = max(peaks[name], peak)
                reset_peak(pid)
                if pid == web_pid:
                    web_phases.append(peak)

        for pid in pids.values():
            reset_peak(pid)
        sampler = ChildSampler(server_pid)
        sampler.start()

        began = time.monotonic()
        answer = client.post(hook, content=body, headers=headers)
        accepted_s = time.monotonic() - began
        assert answer.status_code == 200, answer.text[:300]
        run_id = answer.json()["run_id"]
        state = wait_for_run(app, run_id)
        run_s = time.monotonic() - began - accepted_s
        phase_peaks()
        time.sleep(0.3)
        sampler.running = False
        sampler.join()
        began = time.monotonic()
        received = user_pages(client, project_id, run_id)
        pages_s = time.monotonic() - began
        phase_peaks()

        print(f"accept {accepted_s:.2f} s, run {run_s:.2f} s ({state}), pages and downloads "
              f"{pages_s:.2f} s ({received / MB:.1f} MB received)")  # fmt: skip
        print("peak resident memory growth over the warm baseline (target: <= 3x the body):")
        rows = [(name, (peaks[name] - baseline[name]) * 1024) for name in pids]
        if sampler.peaks:
            child_peak = max(sampler.peaks.values())
            rows.append(("sandbox step child", (child_peak - child_baseline) * 1024))
        else:
            rows.append(("sandbox step child (not sampled)", 0))
        accept_kb, pages_kb = web_phases[0], web_phases[1]
        web_base = baseline["web (gunicorn worker)"]
        print(f"  (web: accept {(accept_kb - web_base) * 1024 / size:.2f}x, run pages and "
              f"downloads {(pages_kb - web_base) * 1024 / size:.2f}x)")  # fmt: skip
        for name, growth in rows:
            verdict = "ok" if growth <= 3 * size else "OVER"
            print(f"  {name:<24} {growth / MB:8.1f} MB = {growth / size:5.2f}x the body  {verdict}")
    finally:
        stop(processes)


if __name__ == "__main__":
    main()
