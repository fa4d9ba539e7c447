"""The sandbox server: a clean, warm process that forks one locked-down child per step.

`Sandbox` starts it as `python -m workers.runtime.sandbox_server` with an empty environment.
It imports the runtime and the adaptors once (no Flask, no database, no keys), then reads
request frames on stdin and answers on stdout (see `wire`). One forked child per step: it is
forked ahead of the request (a `Spare`), hardens itself once the request arrives
(`sandbox_child`) and runs the job; the server relays the child's log lines as they come,
enforces the wall-clock timeout and the byte caps, and turns a child that died or went
quiet into a "killed" or "exception" result.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence

from workers.runtime import compiled_jobs, forking, guard, import_guard, logs, sandbox_child, wire
from workers.runtime.errors import LimitExceeded, error_dict

# Room for the frames' JSON around the log lines and the output state.
_SLACK_BYTES = 1024 * 1024
_STATE_MARKER = b', "state": '


def preload(adaptors: Sequence[str] | None = None) -> dict[str, str]:
    """Import everything a step may need (with `adaptors`: those adaptors only, default all),
    so children pay nothing; return what failed."""
    failed: dict[str, str] = {}
    names = ["workers.runtime.job", *sorted(import_guard.allowed_imports()),
             *sorted(import_guard.IMPLICIT_IMPORTS), "_posixsubprocess"]  # fmt: skip
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a module another engineer has not written yet, say
            failed[name] = f"{type(exc).__name__}: {exc}"
    try:
        from workers.adaptors import ADAPTORS, http_client, operations
    except Exception as exc:
        return {**failed, "workers.adaptors": f"{type(exc).__name__}: {exc}"}
    for adaptor in ADAPTORS if adaptors is None else adaptors:
        try:
            operations(adaptor)
        except Exception as exc:
            failed[f"adaptor {adaptor}"] = f"{type(exc).__name__}: {exc}"
    # Loading the CA bundle and httpx's lazy parts takes up to a few hundred ms: once
    # here, every child inherits them instead of paying on its first request.
    http_client.warm_up()
    from workers.adaptors import common_data

    common_data.warm_up()
    if "workers.runtime.job" not in failed and "adaptor common" not in failed:
        # One trivial job here fills the compiler's and adaptors' lazy caches once, instead
        # of in every child.
        from workers.runtime.job import run_job

        with logs.capture(lambda line: None):
            run_job("fn(lambda state: state)", "common", {})
    for name, why in failed.items():
        print(f"ferry sandbox server: could not preload {name}: {why}", file=sys.stderr)
    return failed


class Spare:
    """A child forked ahead of time, waiting for its step on a pipe.

    Forking this server costs a few milliseconds on a 2-core VM (page tables, then
    copy-on-write faults in the child), so it happens between steps, off the step's
    critical path: when a request arrives a child is already there to take it.
    """

    def __init__(self, pid: int, request_fd: int, result_fd: int) -> None:
        self.pid, self.request_fd, self.result_fd = pid, request_fd, result_fd

    @classmethod
    def fork(cls, protocol_fds: tuple[int, int], failed: dict[str, str]) -> Spare:
        """Fork a child that waits for one request (OSError if the fork fails)."""
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        server_pid = os.getpid()
        try:
            pid = forking.fork()
        except OSError:
            for fd in (request_read, request_write, result_read, result_write):
                os.close(fd)
            raise
        if pid == 0:  # the child: never returns
            try:
                sandbox_child.die_with(server_pid)
                for fd in (request_write, result_read, *protocol_fds):
                    os.close(fd)
                sandbox_child.wait_and_run(request_read, result_write, failed)
            except BaseException as exc:
                # Only the type: the message could quote the state, and it was not scrubbed.
                message = f"the sandbox failed inside the step ({type(exc).__name__})"
                with contextlib.suppress(BaseException):
                    _send_result(result_write, "exception", message)
            finally:
                os._exit(70)
        os.close(request_read)
        os.close(result_write)
        with contextlib.suppress(OSError):  # also done by the child; the first one wins
            os.setpgid(pid, pid)
        return cls(pid, request_write, result_read)

    def run(self, payload: bytes, request: dict, out_fd: int, reaper: Reaper) -> bool:
        """Hand the request over, relay the child's frames, then let the child go; True if
        the step succeeded."""
        try:
            try:
                wire.write_frame(self.request_fd, wire.REQUEST, (payload,))
            except OSError:
                pass  # the child died waiting; _relay reads its end and explains it
            finally:
                os.close(self.request_fd)
            return _relay(self.pid, self.result_fd, request, out_fd, reaper)
        finally:
            os.close(self.result_fd)

    def discard(self) -> None:
        """Close the request pipe: a waiting child reads end-of-file and exits."""
        os.close(self.request_fd)
        os.close(self.result_fd)
        os.waitpid(self.pid, 0)


class Reaper:
    """Finished children, killed but not yet waited for.

    Waiting for a child's teardown would hold the next request for milliseconds, so children
    that already answered are collected later, without blocking.
    """

    def __init__(self) -> None:
        self.pids: list[int] = []

    def kill(self, pid: int) -> None:
        _kill_group(pid)
        self.pids.append(pid)

    def collect(self) -> None:
        """Wait for the children that have finished dying."""
        waiting = []
        for pid in self.pids:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done == 0:
                waiting.append(pid)
        self.pids = waiting


def serve_step(payload: bytes, out_fd: int, spare: Spare | None, reaper: Reaper) -> None:
    """Run one step in the spare child and send its log lines and result to `out_fd`."""
    try:
        request = json.loads(_without_state(payload))
    except ValueError as exc:
        _send_result(out_fd, "exception", f"the sandbox received a malformed request ({exc})")
        return
    if spare is None:
        _send_result(out_fd, "exception", "the sandbox could not start the step (fork failed)")
        return
    if spare.run(payload, request, out_fd, reaper):
        # After the answer, before the next fork: the next child finds this body compiled.
        compiled_jobs.remember(str(request["body"]), str(request["adaptor"]))


def _without_state(payload: bytes) -> bytes:
    """The request without its state, which comes last (`StepRequest.as_wire`): the server
    reads only the limits, and parsing a 10 MB state here would cost 40 MB. The marker
    cannot occur earlier: every earlier value is a string (quotes escaped), a number or a
    list or object of those."""
    at = payload.find(_STATE_MARKER)
    return payload if at == -1 else bytes(payload[:at]) + b"}"


def _relay(pid: int, read_fd: int, request: dict, out_fd: int, reaper: Reaper) -> bool:
    """Pass the child's frames on until its result, a timeout, or its death; True when the
    child answered that the step succeeded."""
    timeout = float(request["timeout_s"])
    cap = int(request["max_log_bytes"]) + int(request["max_output_bytes"]) + _SLACK_BYTES
    reader = wire.FrameReader(read_fd, max_frame=int(request["max_output_bytes"]) + _SLACK_BYTES)
    deadline = time.monotonic() + timeout
    result: bytes | None = None
    problem: tuple | None = None  # (status, message, code, details)
    try:
        while result is None and problem is None:
            frame = reader.read(deadline)
            if frame is None:
                break
            kind, payload = frame
            if kind == wire.LOG:
                wire.write_all(out_fd, wire.encode(wire.LOG, payload))
            elif kind == wire.RESULT:
                result = payload
            if reader.total_bytes > cap:
                problem = (
                    "killed",
                    f"the step sent more than {wire.human_size(cap)} of logs and output",
                    "log_limit",
                    {"limit": wire.human_size(cap)},
                )
    except TimeoutError:
        message = f"the step ran longer than {timeout:g} s and was stopped"
        problem = ("killed", message, "time_limit", {"seconds": timeout})
    except wire.WireError as exc:
        message = f"the step's output was too large or malformed ({exc})"
        problem = ("killed", message, "output_limit", {})
    if result is not None and problem is None:
        # Answer first: the caller need not wait for the child's exit to be torn down.
        wire.write_frame(out_fd, wire.RESULT, (result,))
        reaper.kill(pid)
        return result.startswith(sandbox_child.SUCCESS_HEAD)
    status = _stop(pid)
    _send_result(out_fd, *(problem or _explain_exit(status, timeout)))
    return False


def _stop(pid: int) -> int:
    """Kill the child's whole process group (stragglers too) and reap the child."""
    _kill_group(pid)
    _pid, status = os.waitpid(pid, 0)
    return status


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):  # already gone
            kill(pid, signal.SIGKILL)


def _explain_exit(status: int, timeout: float) -> tuple[str, str, str, dict]:
    """(status, message, code, details) for a child that ended without sending a result."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            message = f"the step used more than {timeout:g} s of CPU time and was stopped"
            return "killed", message, "cpu_limit", {"seconds": timeout}
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        hint = " (the machine may be out of memory)" if number == signal.SIGKILL else ""
        message = f"the step's process died from signal {name}{hint}"
        return "killed", message, "process_died", {"signal": name}
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    message = f"the step's process exited with status {code} before sending a result"
    return "exception", message, "process_died", {"exit_status": code}


def _send_result(
    out_fd: int,
    status: str,
    message: str,
    code: str = "sandbox_failed",
    details: dict | None = None,
) -> None:
    kind = LimitExceeded.__name__ if status == "killed" else "SandboxError"
    error = error_dict(kind, message, code, details)
    result = {"status": status, "state": None, "error": error}
    wire.write_all(out_fd, wire.encode_json(wire.RESULT, result))


def main() -> None:
    """Serve requests from stdin until it closes."""
    # The protocol gets private copies of stdin/stdout; fd 1 then points at stderr, so a
    # stray print from an imported library can never corrupt a frame.
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    failed = preload(_adaptors_from(sys.argv[1:]))
    guard.snapshot_builtins()
    os.chdir("/")
    # Objects made so far are shared read-only by every child; freezing them keeps the
    # children's garbage collector from touching (and so copying) those pages.
    gc.collect()
    gc.freeze()
    reaper = Reaper()
    spare = _fork_spare((in_fd, out_fd), failed)
    wire.write_all(out_fd, wire.encode_json(wire.READY, {"failed": failed}))
    reader = wire.FrameReader(in_fd)
    while (frame := reader.read()) is not None:
        kind, payload = frame
        if kind != wire.REQUEST:
            continue
        # From here on the step may have effects, so the caller must not resend it.
        wire.write_all(out_fd, wire.encode(wire.ACCEPTED, b"{}"))
        serve_step(payload, out_fd, spare, reaper)
        del payload, frame  # a large state must not be copied into the next child
        spare = _fork_spare((in_fd, out_fd), failed)
        reaper.collect()
    if spare is not None:
        spare.discard()


def _adaptors_from(argv: list[str]) -> list[str] | None:
    """`--adaptors a,b` (the adaptors this server preloads); None for all of them."""
    if len(argv) == 2 and argv[0] == "--adaptors":
        return [name for name in argv[1].split(",") if name]
    return None


def _fork_spare(protocol_fds: tuple[int, int], failed: dict[str, str]) -> Spare | None:
    """The next spare child, or None when the machine cannot fork right now."""
    try:
        return Spare.fork(protocol_fds, failed)
    except OSError as exc:
        print(f"ferry sandbox server: could not fork a step process: {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    main()
