"""The sandbox server keeps the compiled form of bodies that ran successfully, so the next
children skip compiling; what a step does always follows its own body."""

from __future__ import annotations

import json
import os

import pytest

from workers.runtime import compiled_jobs, sandbox_server, wire
from workers.runtime.protocol import StepRequest

ADD_ONE = 'fn(lambda state: {**state, "data": {"x": state["data"]["x"] + 1}})'


@pytest.fixture(autouse=True)
def empty_cache():
    compiled_jobs.forget_all()
    yield
    compiled_jobs.forget_all()


def serve(body: str) -> dict:
    """One step served as the server serves it, by a spare forked from this process; the
    result frame's dict."""
    out_read, out_write = os.pipe()
    spare = sandbox_server.Spare.fork((out_read, out_write), {})
    request = StepRequest(body=body, adaptor="common", state={"data": {"x": 1}}, timeout_s=20)
    payload = json.dumps(request.as_wire()).encode()
    sandbox_server.serve_step(payload, out_write, spare, sandbox_server.Reaper())
    os.close(out_write)
    reader = wire.FrameReader(out_read)
    frames = []
    while (frame := reader.read()) is not None:
        frames.append(frame)
    os.close(out_read)
    os.waitpid(spare.pid, 0)
    kinds = [kind for kind, _ in frames]
    assert kinds[-1] == wire.RESULT, kinds
    return json.loads(frames[-1][1])


def test_a_body_that_succeeded_is_compiled_for_the_next_child():
    result = serve(ADD_ONE)
    assert result["status"] == "success" and result["state"]["data"] == {"x": 2}
    assert (ADD_ONE, "common") in compiled_jobs._cache


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("fn(lambda state: 1 / 0)", "failed"),  # compiles, then fails
        ("fn(lambda state: state", "crashed"),  # does not compile
        ("import os\nfn(lambda state: state)", "crashed"),  # refused by the checks
        ("fn(lambda state: [0] * 10**10)", "killed"),  # above the memory limit
    ],
)
def test_a_step_that_did_not_succeed_leaves_nothing_compiled(body, status):
    assert serve(body)["status"] == status
    assert compiled_jobs._cache == {}


def test_a_step_runs_its_own_body_whatever_ran_before(sandbox):
    bodies = [ADD_ONE, ADD_ONE, ADD_ONE.replace("+ 1", "+ 2"), ADD_ONE + "\n", ADD_ONE]
    seen = [
        sandbox.run(StepRequest(body=body, adaptor="common", state={"data": {"x": 1}}))
        for body in bodies
    ]
    assert [result.state["data"]["x"] for result in seen] == [2, 2, 3, 2, 2]


def test_each_step_draws_its_own_random_numbers(sandbox):
    body = 'import random\nfn(lambda state: {**state, "data": {"r": random.random()}})'
    drawn = [
        sandbox.run(StepRequest(body=body, adaptor="common", state={})).state["data"]["r"]
        for _ in range(3)
    ]
    assert len(set(drawn)) == 3
