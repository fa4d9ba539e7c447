"""`ferry execute` as a user runs it (a subprocess, a real sandbox): files in, the final
state out, logs on stderr, and an exit code that says how the run went."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.workers.adaptors.servers import EchoServer


def ferry(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "workers", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_single_job_reads_state_and_writes_output_file(tmp_path):
    job = write(tmp_path / "job.py", 'fn(lambda s: {**s, "data": {"n": s["data"]["n"] + 1}})\n'
                                      'log("incremented", S.data.n)\n')  # fmt: skip
    state = write(tmp_path / "state.json", '{"data": {"n": 41}}')
    out = tmp_path / "out.json"
    done = ferry("execute", job, "-a", "common@1", "-s", state, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["data"] == {"n": 42}
    assert done.stdout == ""  # the state went to the file
    assert "incremented 42" in done.stderr


def test_credential_is_used_and_never_printed(tmp_path):
    secret = "pa$$.w0rd(ü)*"
    with EchoServer() as server:
        job = write(tmp_path / "job.py", 'get("/api/echo/patients")\nlog(S.configuration)\n')
        credential = write(
            tmp_path / "cred.json",
            json.dumps({"base_url": server.origin, "username": "ana", "password": secret}),
        )
        done = ferry("execute", job, "-a", "http@1", "-c", credential, "--allow", "127.0.0.1")
        sent = server.last.headers["authorization"]
    assert done.returncode == 0, done.stderr
    final = json.loads(done.stdout)
    assert final["data"]["path"] == "/api/echo/patients"
    assert "configuration" not in final
    assert sent.startswith("Basic ")
    for text in (done.stdout, done.stderr):
        assert secret not in text and sent.split()[1] not in text
    assert "***" in done.stderr


def test_exit_codes_say_how_the_job_ended(tmp_path):
    failing = write(tmp_path / "fail.py", 'assert_(False, "no patients today")\n')
    broken = write(tmp_path / "broken.py", "fn(lambda s: s)\nfn(lambda s: s\n")
    endless = write(
        tmp_path / "loop.py", "def spin(state):\n    while True:\n        pass\n\nfn(spin)\n"
    )
    done = ferry("execute", failing, "-a", "common@1")
    assert done.returncode == 1 and "no patients today" in done.stderr
    done = ferry("execute", broken, "-a", "common@1")
    assert done.returncode == 2 and "line 2" in done.stderr
    done = ferry("execute", endless, "-a", "common@1", "--timeout", "2")
    assert done.returncode == 3 and "2 s" in done.stderr


def test_bad_files_are_explained_with_exit_code_2(tmp_path):
    job = write(tmp_path / "job.py", "fn(lambda s: s)\n")
    done = ferry("execute", job)
    assert done.returncode == 2 and "needs its adaptor: -a http@1" in done.stderr
    done = ferry("execute", str(tmp_path / "missing.py"), "-a", "common@1")
    assert done.returncode == 2 and "does not exist" in done.stderr
    bad_state = write(tmp_path / "state.json", "[1, 2]")
    done = ferry("execute", job, "-a", "common@1", "-s", bad_state)
    assert done.returncode == 2 and "must hold a JSON object" in done.stderr


WORKFLOW = """
jobs:
  double:
    adaptor: common@1
    body: 'fn(lambda s: {**s, "data": {"n": s["data"]["n"] * 2}})'
  check:
    adaptor: common@1
    body: 'assert_(lambda s: s["data"]["n"] < 10, "too big")'
  report-failure:
    adaptor: common@1
    body: 'fn(lambda s: {**s, "data": {"alert": list(s["errors"])}})'
edges:
  double-check:
    source_job: double
    target_job: check
    condition_type: on_job_success
  check-failed:
    source_job: check
    target_job: report-failure
    condition_type: on_job_failure
"""


def test_workflow_file_follows_edges_and_only_and_start_pick_steps(tmp_path):
    flow = write(tmp_path / "flow.yaml", WORKFLOW)
    small = write(tmp_path / "small.json", '{"data": {"n": 3}}')
    large = write(tmp_path / "large.json", '{"data": {"n": 30}}')

    done = ferry("execute", flow, "-s", small)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"] == {"n": 6}

    done = ferry("execute", flow, "-s", large)  # check fails, its failure edge runs
    assert done.returncode == 1
    assert json.loads(done.stdout)["data"] == {"alert": ["check"]}
    assert "too big" in done.stderr

    done = ferry("execute", flow, "-s", large, "--only", "double")
    assert done.returncode == 0 and json.loads(done.stdout)["data"] == {"n": 60}

    done = ferry("execute", flow, "-s", small, "--start", "check")
    assert done.returncode == 0 and json.loads(done.stdout)["data"] == {"n": 3}

    done = ferry("execute", flow, "--only", "nope")
    assert done.returncode == 2 and "no such job" in done.stderr
