"""The sandbox server's cache of compiled jobs: keyed on the exact body and adaptor, bounded,
and holding only bodies that compile."""

from __future__ import annotations

import pytest

from workers.runtime import compiled_jobs
from workers.runtime.errors import JobCompileError
from workers.runtime.job import run_job
from workers.runtime.logs import capture

ADD_ONE = 'fn(lambda state: {**state, "data": {"x": state["data"]["x"] + 1}})'
ADD_TWO = 'fn(lambda state: {**state, "data": {"x": state["data"]["x"] + 2}})'


@pytest.fixture(autouse=True)
def empty_cache():
    compiled_jobs.forget_all()
    yield
    compiled_jobs.forget_all()


def run(body: str, x: int = 1, adaptor: str = "common") -> dict:
    with capture(lambda line: None):
        return run_job(body, adaptor, {"data": {"x": x}})


def test_without_remember_every_call_compiles_afresh():
    assert compiled_jobs.compiled(ADD_ONE, "common") is not compiled_jobs.compiled(
        ADD_ONE, "common"
    )


def test_a_remembered_body_is_served_from_the_cache_and_still_runs():
    assert compiled_jobs.remember(ADD_ONE, "common") is True
    cached = compiled_jobs.compiled(ADD_ONE, "common")
    assert compiled_jobs.compiled(ADD_ONE, "common") is cached
    assert run(ADD_ONE, 1)["data"] == {"x": 2}
    assert run(ADD_ONE, 41)["data"] == {"x": 42}  # built again: nothing kept from the last run


def test_a_changed_body_compiles_afresh_and_runs_its_own_code():
    compiled_jobs.remember(ADD_ONE, "common")
    assert compiled_jobs.compiled(ADD_TWO, "common") is not compiled_jobs.compiled(
        ADD_ONE, "common"
    )
    assert run(ADD_TWO, 1)["data"] == {"x": 3}
    assert run(ADD_ONE + " ", 1)["data"] == {"x": 2}  # one more space is another body


def test_the_adaptor_reference_is_part_of_the_key():
    compiled_jobs.remember(ADD_ONE, "common")
    assert compiled_jobs.compiled(ADD_ONE, "http@1") is not compiled_jobs.compiled(
        ADD_ONE, "common"
    )


def test_a_body_that_does_not_compile_is_not_kept():
    assert compiled_jobs.remember("fn(lambda state: state", "common") is False
    assert compiled_jobs.remember("import os\nfn(lambda state: state)", "common") is False
    with pytest.raises(JobCompileError):
        compiled_jobs.compiled("fn(lambda state: state", "common")


def test_an_unknown_adaptor_is_not_kept_and_says_so():
    assert compiled_jobs.remember(ADD_ONE, "no-such-adaptor") is False
    with pytest.raises(JobCompileError) as raised:
        compiled_jobs.compiled(ADD_ONE, "no-such-adaptor")
    assert raised.value.code == "unknown_adaptor"


def test_a_body_above_the_size_cap_is_not_kept():
    padding = "# " + "x" * compiled_jobs.MAX_SOURCE_CHARS + "\n"
    assert compiled_jobs.remember(padding + ADD_ONE, "common") is False
    assert run(padding + ADD_ONE)["data"] == {"x": 2}  # it still runs, compiled each time


def test_the_oldest_bodies_leave_first_when_the_cache_is_full(monkeypatch):
    monkeypatch.setattr(compiled_jobs, "MAX_ENTRIES", 2)
    bodies = [f"fn(lambda state: state)\n# {n}" for n in range(3)]
    for body in bodies:
        compiled_jobs.remember(body, "common")
    kept = [body for body in bodies if (body, "common") in compiled_jobs._cache]
    assert kept == bodies[1:]


def test_the_cache_holds_a_bounded_amount_of_source(monkeypatch):
    monkeypatch.setattr(compiled_jobs, "MAX_TOTAL_CHARS", 3 * len(ADD_ONE))
    bodies = [ADD_ONE + "\n#" + str(n) for n in range(5)]
    for body in bodies:
        compiled_jobs.remember(body, "common")
    assert sum(len(source) for source, _ in compiled_jobs._cache) <= 3 * len(ADD_ONE)
    assert (bodies[-1], "common") in compiled_jobs._cache
