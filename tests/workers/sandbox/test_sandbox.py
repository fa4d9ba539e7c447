"""The sandbox runs a step in a forked child and reports how it ended, logs included."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from workers.runtime.logs import LogLine
from workers.runtime.protocol import StepRequest
from workers.runtime.sandbox import Sandbox

TRIVIAL = "fn(lambda state: state)"


@pytest.fixture(scope="module")
def sandbox():
    """One warm sandbox shared by this module's tests."""
    with Sandbox() as box:
        yield box


def step(body: str, state: dict | None = None, **limits) -> StepRequest:
    return StepRequest(body=body, adaptor="common", state=state or {}, **limits)


def test_trivial_step_returns_its_state(sandbox):
    result = sandbox.run(step(TRIVIAL, {"data": {"n": 1}, "references": []}))
    assert result.status == "success"
    assert result.state == {"data": {"n": 1}, "references": []}
    assert result.error is None
    assert result.duration_ms > 0


def test_print_becomes_log_lines_streamed_in_order_while_the_step_runs(sandbox):
    body = (
        "import time\n"
        "def talk(state):\n"
        "    for n in range(3):\n"
        "        print('line', n)\n"
        "    time.sleep(0.5)\n"
        "    return state\n"
        "fn(talk)\n"
    )
    seen: list[tuple[float, LogLine]] = []
    result = sandbox.run(step(body), on_log=lambda line: seen.append((time.monotonic(), line)))
    finished = time.monotonic()
    assert result.status == "success", result.error
    job_lines = [(at, line) for at, line in seen if line.source == "job"]
    assert [line.message for _, line in job_lines] == ["line 0", "line 1", "line 2"]
    assert [line for _, line in seen] == result.logs
    # Streamed: the lines reached the caller before the step's half-second sleep ended.
    assert finished - job_lines[-1][0] > 0.3


def test_an_operation_that_raises_fails_and_keeps_the_last_good_state(sandbox):
    result = sandbox.run(step("fn(lambda state: state['missing'])", {"data": [1]}))
    assert result.status == "failed"
    assert "missing" in result.error["message"]
    assert result.state["data"] == [1]


def test_code_that_cannot_compile_crashes(sandbox):
    result = sandbox.run(step("fn(lambda state: state", {"data": 1}))
    assert result.status == "crashed"
    assert result.state is None
    assert result.error["type"] == "JobCompileError"


def test_input_that_is_not_json_is_an_exception(sandbox):
    result = sandbox.run(step(TRIVIAL, {"data": object()}))
    assert result.status == "exception"
    assert "not JSON" in result.error["message"]


def test_a_step_running_past_its_timeout_is_killed_on_time(sandbox):
    body = "def spin(state):\n    while True:\n        pass\n    return state\nfn(spin)\n"
    started = time.monotonic()
    result = sandbox.run(step(body, timeout_s=1))
    assert time.monotonic() - started < 2
    assert result.status == "killed"
    assert result.error["message"] == "the step ran longer than 1 s and was stopped"
    assert sandbox.run(step(TRIVIAL)).status == "success"


def test_a_sleeping_step_is_killed_by_the_wall_clock_not_only_cpu_time(sandbox):
    body = "import time\nfn(lambda state: time.sleep(30) or state)\n"
    started = time.monotonic()
    result = sandbox.run(step(body, timeout_s=0.5))
    assert time.monotonic() - started < 1.5
    assert result.status == "killed"


def test_output_above_the_cap_is_killed_with_its_size(sandbox):
    body = "fn(lambda state: {'data': 'x' * 3_000_000})"
    result = sandbox.run(step(body, max_output_bytes=2 * 1024 * 1024))
    assert result.status == "killed"
    assert result.state is None
    assert result.error["message"] == "the step's output state is 2.86 MB, above the 2 MB limit"


def test_logs_above_the_cap_are_dropped_with_one_final_note(sandbox):
    body = (
        "def flood(state):\n"
        "    for n in range(1000):\n"
        "        print(str(n).rjust(100, '.'))\n"
        "    return state\n"
        "fn(flood)\n"
    )
    result = sandbox.run(step(body, max_log_bytes=10_000))
    assert result.status == "success"
    kept, note = result.logs[:-1], result.logs[-1]
    assert [line.source for line in kept] == ["job"] * 100
    assert sum(len(line.message) for line in kept) <= 10_000
    assert note.source == "runtime"
    # The 900 other job lines, and the runtime's own "Operation 1/1 ... finished" line.
    assert note.message.startswith("901 more log lines (")
    assert note.message.endswith("were dropped: a step may log at most 9.77 KB.")


def test_a_killed_server_is_replaced_on_the_next_run():
    with Sandbox() as box:
        first_pid = box.server_pid
        os.kill(first_pid, signal.SIGKILL)
        result = box.run(step(TRIVIAL, {"data": "again"}))
        assert result.status == "success"
        assert result.state["data"] == "again"
        assert box.server_pid != first_pid


def test_a_server_dying_mid_step_gives_an_exception_and_then_recovers():
    with Sandbox() as box:
        pid = box.server_pid
        killer = threading.Timer(0.3, os.kill, (pid, signal.SIGKILL))
        killer.start()
        result = box.run(step("import time\nfn(lambda state: time.sleep(5) or state)"))
        killer.join()
        assert result.status == "exception"
        assert "sandbox stopped unexpectedly" in result.error["message"]
        assert box.run(step(TRIVIAL)).status == "success"


def process_state(pid: int) -> str | None:
    """The state letter of a process (R, S, Z, ...), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def children_of(pid: int) -> set[int]:
    """The live processes whose parent is `pid`."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                state, parent = stat.read().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if int(parent) == pid and state != "Z":
            found.add(int(entry))
    return found


def test_a_step_dies_with_its_server_instead_of_running_unsupervised():
    with Sandbox() as box:
        server = box.server_pid
        sleeper = step("import time\nfn(lambda state: time.sleep(30) or state)")
        running = threading.Thread(target=box.run, args=(sleeper,))
        running.start()
        time.sleep(0.5)
        children = children_of(server)  # the sleeping step (the next spare comes after it)
        assert len(children) == 1
        os.kill(server, signal.SIGKILL)
        running.join(timeout=10)
        deadline = time.monotonic() + 5
        while any(process_state(c) not in (None, "Z") for c in children):
            assert time.monotonic() < deadline, "a step outlived its sandbox server"
            time.sleep(0.05)


def test_the_server_has_an_empty_environment(sandbox):
    with open(f"/proc/{sandbox.server_pid}/environ", "rb") as environ:
        assert environ.read() == b""


def test_two_sandboxes_run_steps_in_parallel():
    body = "import time\nfn(lambda state: time.sleep(0.4) or state)"
    results: list[str] = []
    with Sandbox() as one, Sandbox() as two:

        def work(box: Sandbox) -> None:
            for _ in range(2):
                results.append(box.run(step(body)).status)

        started = time.monotonic()
        threads = [threading.Thread(target=work, args=(box,)) for box in (one, two)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert results == ["success"] * 4
    assert elapsed < 1.5  # four 0.4 s steps, two at a time: about 0.8 s, not 1.6 s
