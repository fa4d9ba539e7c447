"""AdaptorSandboxes: postgresql steps run in a server of their own, started on first use, so
the server most steps fork from stays without psycopg (cheaper forks)."""

from __future__ import annotations

from pathlib import Path

from workers.runtime.protocol import StepRequest
from workers.runtime.sandboxes import AdaptorSandboxes


def mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def step(adaptor: str) -> StepRequest:
    return StepRequest(body="fn(lambda state: state)", adaptor=adaptor, state={"data": {"n": 1}})


def test_most_steps_fork_from_a_server_without_the_postgresql_driver():
    with AdaptorSandboxes() as sandboxes:
        for adaptor in ("common", "http@1", "dhis2", "fhir"):
            result = sandboxes.run(step(adaptor))
            assert result.status == "success", result.error
            assert result.state["data"] == {"n": 1}
        pids = sandboxes.server_pids()
        assert pids["separate"] is None, "no postgresql step ran, so no second server"
        assert "psycopg" not in mapped_files(pids["main"])


def test_a_postgresql_step_starts_its_own_server_with_every_adaptor():
    with AdaptorSandboxes() as sandboxes:
        result = sandboxes.run(step("postgresql@1"))
        assert result.status == "success", result.error
        pids = sandboxes.server_pids()
        assert pids["separate"] not in (None, pids["main"])
        assert "psycopg" in mapped_files(pids["separate"])
        # Later postgresql steps reuse it; others still go to the main server.
        assert sandboxes.run(step("postgresql")).status == "success"
        assert sandboxes.server_pids() == pids
        assert "psycopg" not in mapped_files(pids["main"])


def test_an_unknown_adaptor_fails_its_step_with_the_list_of_adaptors():
    with AdaptorSandboxes() as sandboxes:
        result = sandboxes.run(step("sftp"))
        assert result.status != "success"
        assert "common" in result.error["message"] and "postgresql" in result.error["message"]
