"""A step's child process, from fork to `os._exit`: lock down, run the job, send the result.

The sandbox server forks one child per step (see `sandbox_server`). Everything the child
sends (log lines, the output state, error messages) is scrubbed of credential values first.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import signal
import sys
import time

from app.scrub import Scrubber
from workers.runtime import ferry_api, guard, logs, wire
from workers.runtime.errors import JobError, RuntimeFailure, SecurityViolation, error_dict
from workers.runtime.logs import LogLine


class _LogStream:
    """Sends scrubbed log lines to the server as they happen, within the step's log budget."""

    def __init__(self, fd: int, scrubber: Scrubber, budget: int) -> None:
        self.fd, self.scrubber, self.budget = fd, scrubber, budget
        self.used = self.dropped_lines = self.dropped_bytes = 0

    def __call__(self, line: LogLine) -> None:
        message = self.scrubber.scrub_text(line.message)
        size = len(message.encode("utf-8", "replace"))
        if self.used + size > self.budget:
            self.dropped_lines += 1
            self.dropped_bytes += size
            return
        self.used += size
        self._send(LogLine(line.level, line.source, message, line.timestamp))

    def _send(self, line: LogLine) -> None:
        wire.write_all(self.fd, wire.encode_json(wire.LOG, line.as_dict()))

    def close(self) -> None:
        """Say how much was dropped, if anything was: one line beyond the budget."""
        if self.dropped_lines:
            dropped, budget = wire.human_size(self.dropped_bytes), wire.human_size(self.budget)
            note = (f"{self.dropped_lines} more log lines ({dropped}) were dropped: "
                    f"a step may log at most {budget}.")  # fmt: skip
            self._send(LogLine("warn", "runtime", note, time.time()))


class _StdStream:
    """sys.stdout/sys.stderr of the child: whole lines written there become log lines."""

    def __init__(self, logs_out: _LogStream, level: str) -> None:
        self.logs_out, self.level, self.pending = logs_out, level, ""

    def write(self, text: str) -> int:
        """Buffer `text`, sending each complete line."""
        self.pending += str(text)
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.logs_out(LogLine(self.level, "runtime", line, time.time()))
        return len(text)

    def flush(self) -> None:
        """Nothing to do: lines leave as soon as they are complete."""


# How a successful step's result frame begins (see `_send_child_result`).
SUCCESS_HEAD = b'{"status": "success"'

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# Loaded once in the server: ctypes.util.find_library would start subprocesses in every child.
_LIBC = ctypes.CDLL(None, use_errno=True)


def die_with(server_pid: int) -> None:
    """Have the kernel kill this child when the sandbox server dies.

    The server enforces the step's wall-clock timeout; a child outliving it (the worker was
    stopped, the server killed) would run unsupervised until its job returned."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server_pid:  # the server died before the request above took effect
        os._exit(0)


def wait_and_run(request_fd: int, result_fd: int, failed: dict[str, str]) -> None:
    """Wait for the one request this spare child will run; exit quietly if none comes."""
    # No warm-up job while waiting: it moved about 1 ms of copy-on-write faults off the
    # step's wait, but cost 2 ms of CPU per step, which a busy 2-core worker pays in full.
    frame = wire.FrameReader(request_fd).read()
    if frame is None or frame[0] != wire.REQUEST:
        os._exit(0)  # the server retired this spare (or stopped)
    request = json.loads(frame[1])
    del frame
    run_child(request, result_fd, failed)


def run_child(request: dict, result_fd: int, failed: dict[str, str]) -> None:
    """Lock this forked process down, run the step, send the result, exit."""
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # direct writes to fd 1/2 go nowhere, never into a frame
    # Only the result pipe stays open: not the server's protocol pipes, not its stdin.
    os.closerange(3, result_fd)
    os.closerange(result_fd + 1, 1 << 16)
    if os.environ:  # the server starts with none; clear() on an empty one still costs
        os.environ.clear()
    state = request["state"]
    configuration = state.get("configuration") if isinstance(state, dict) else None
    scrubber = Scrubber.from_configuration(configuration) if configuration else Scrubber(())
    token = ferry_api.enter_step(request.get("ferry_api"))
    if token:
        scrubber = Scrubber((*scrubber.secrets, token))
    log_stream = _LogStream(result_fd, scrubber, int(request["max_log_bytes"]))
    sys.stdout, sys.stderr = _StdStream(log_stream, "info"), _StdStream(log_stream, "warn")
    cpu_seconds = math.ceil(float(request["timeout_s"])) + 1
    guard.harden(cpu_seconds, int(request["memory_mb"]), list(request["egress_allow"]))
    with logs.capture(log_stream):
        status, new_state, error = _run_job(request, failed)
    log_stream.close()
    _send_child_result(result_fd, scrubber, request, status, new_state, error)
    os._exit(0)


def _run_job(request: dict, failed: dict[str, str]) -> tuple[str, dict | None, dict | None]:
    """(status, state, error) of running the job body."""
    if "workers.runtime.job" in failed:
        why = failed["workers.runtime.job"]
        return (
            "exception",
            None,
            _error("SandboxError", f"the job runtime is missing ({why})", "sandbox_failed"),
        )
    adaptor = str(request["adaptor"])
    why = failed.get(f"adaptor {adaptor.split('@')[0]}")
    if why is not None:
        message = f"the adaptor {adaptor!r} could not be loaded ({why})"
        return (
            "crashed",
            None,
            _error("JobCompileError", message, "unknown_adaptor", adaptor=adaptor),
        )
    # Preloaded by the server (it is not in `failed`): a lookup, where an import statement
    # would now go through the import guard's look at its caller.
    run_job = sys.modules["workers.runtime.job"].run_job
    try:
        return "success", run_job(request["body"], adaptor, request["state"], own_state=True), None
    except BaseException as exc:  # job code can raise anything, SystemExit included
        return _classify(exc, int(request["memory_mb"]))


def _classify(exc: BaseException, memory_mb: int) -> tuple[str, dict | None, dict | None]:
    """Map what a step raised onto a status, the state to keep, and the error."""
    if _caused_by(exc, MemoryError):
        guard.release_memory_headroom()  # room to build and send this result
        message = f"the step used more than {memory_mb} MB of memory and was stopped"
        return "killed", None, _error("LimitExceeded", message, "memory_limit", mb=memory_mb)
    if isinstance(exc, RuntimeFailure):
        return exc.kind, exc.state if isinstance(exc, JobError) else None, exc.as_dict()
    if isinstance(exc, PermissionError | ImportError) and "Ferry sandbox" in str(exc):
        return "failed", None, SecurityViolation(str(exc)).as_dict()
    if isinstance(exc, RecursionError | SystemExit):
        message = "job code may not exit the process" if isinstance(exc, SystemExit) else exc
        code = "job_exit" if isinstance(exc, SystemExit) else "job_error"
        return "failed", None, _error("JobError", str(message), code, exception=type(exc).__name__)
    return (
        "exception",
        None,
        _error(type(exc).__name__, f"the runtime failed: {exc}", "runtime_error"),
    )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _error(kind: str, message: str, code: str, **details: object) -> dict:
    return error_dict(kind, message, code, details)


def _send_child_result(fd: int, scrubber: Scrubber, request: dict, status: str,
                       state: dict | None, error: dict | None) -> None:  # fmt: skip
    """Scrub, size-check and send the result frame."""
    encoded = b"null"
    if isinstance(state, dict):
        state = {key: value for key, value in state.items() if key != "configuration"}
        try:
            text = json.dumps(scrubber.scrub_json(state), ensure_ascii=False, allow_nan=False)
            encoded = text.encode()
        except (TypeError, ValueError) as exc:
            status, error = (
                "failed",
                _error("StateError", f"the output state is not JSON: {exc}", "state_not_json"),
            )
        except MemoryError:
            guard.release_memory_headroom()
            message = f"the step's output state needs more than {request['memory_mb']} MB"
            error = _error("LimitExceeded", message, "memory_limit", mb=request["memory_mb"])
            status, encoded = "killed", b"null"
        limit = int(request["max_output_bytes"])
        if len(encoded) > limit:
            size = wire.human_size(len(encoded))
            message = f"the step's output state is {size}, above the {wire.human_size(limit)} limit"
            error = _error(
                "LimitExceeded", message, "output_limit", size=size, limit=wire.human_size(limit)
            )
            status, encoded = "killed", b"null"
    # The state last, with its length: a caller may keep it as text without parsing it
    # (`sandbox._result_of`); written in pieces, so a large state is not copied to be framed.
    # Starts with SUCCESS_HEAD exactly when the step succeeded: the server reads no further.
    head = {"status": status, "error": scrubber.scrub_json(error), "state_bytes": len(encoded)}
    head_text = json.dumps(head).encode()[:-1] + b', "state": '
    wire.write_frame(fd, wire.RESULT, (head_text, encoded, b"}"))
