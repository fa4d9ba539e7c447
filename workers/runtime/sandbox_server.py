"""The sandbox server: a clean, warm process that forks one locked-down child per step.

`Sandbox` starts it as `python -m workers.runtime.sandbox_server` with an empty environment.
It imports the runtime and the adaptors once (no Flask, no database, no keys), then reads
request frames on stdin and answers on stdout (see `wire`). For each request it forks: the
child hardens itself (`run_child`) and runs the job; the server relays the child's log
lines as they come, enforces the wall-clock timeout and the byte caps, and turns a child
that died or went quiet into a "killed" or "exception" result.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import math
import os
import signal
import sys
import time

from workers.runtime import guard, logs, wire
from workers.runtime.errors import JobError, LimitExceeded, RuntimeFailure
from workers.runtime.logs import LogLine
from workers.runtime.scrub import Scrubber

# Room for the frames' JSON around the log lines and the output state.
_SLACK_BYTES = 1024 * 1024


def preload() -> dict[str, str]:
    """Import everything a step may need, so children pay nothing; return what failed."""
    failed: dict[str, str] = {}
    names = ["workers.runtime.job", *sorted(guard.allowed_imports()),
             *sorted(guard.IMPLICIT_IMPORTS), "_posixsubprocess"]  # fmt: skip
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a module another engineer has not written yet, say
            failed[name] = f"{type(exc).__name__}: {exc}"
    try:
        from workers.adaptors import ADAPTORS, operations
    except Exception as exc:
        return {**failed, "workers.adaptors": f"{type(exc).__name__}: {exc}"}
    for adaptor in ADAPTORS:
        try:
            operations(adaptor)
        except Exception as exc:
            failed[f"adaptor {adaptor}"] = f"{type(exc).__name__}: {exc}"
    if "workers.runtime.job" not in failed and "adaptor common" not in failed:
        # One trivial job here fills the compiler's and adaptors' lazy caches once, instead
        # of in every child.
        from workers.runtime.job import run_job

        with logs.capture(lambda line: None):
            run_job("fn(lambda state: state)", "common", {})
    for name, why in failed.items():
        print(f"ferry sandbox server: could not preload {name}: {why}", file=sys.stderr)
    return failed


def serve_step(request: dict, out_fd: int, failed: dict[str, str]) -> None:
    """Run one step in a forked child and send its log lines and result to `out_fd`."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        _send_result(out_fd, "exception", f"the sandbox could not start the step ({exc})")
        return
    if pid == 0:  # the child: never returns
        try:
            os.close(read_fd)
            run_child(request, write_fd, failed)
        except BaseException as exc:
            # Only the type: the message could quote the state, and it was not scrubbed.
            message = f"the sandbox failed inside the step ({type(exc).__name__})"
            with contextlib.suppress(BaseException):
                _send_result(write_fd, "exception", message)
        finally:
            os._exit(70)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # also done by the child; the first one wins
        os.setpgid(pid, pid)
    try:
        _relay(pid, read_fd, request, out_fd)
    finally:
        os.close(read_fd)


def _relay(pid: int, read_fd: int, request: dict, out_fd: int) -> None:
    """Pass the child's frames on until its result, a timeout, or its death."""
    timeout = float(request["timeout_s"])
    cap = int(request["max_log_bytes"]) + int(request["max_output_bytes"]) + _SLACK_BYTES
    reader = wire.FrameReader(read_fd, max_frame=int(request["max_output_bytes"]) + _SLACK_BYTES)
    deadline = time.monotonic() + timeout
    result: bytes | None = None
    problem: tuple[str, str] | None = None
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
                problem = ("killed", f"the step sent more than {_mb(cap)} of logs and output")
    except TimeoutError:
        problem = ("killed", f"the step ran longer than {timeout:g} s and was stopped")
    except wire.WireError as exc:
        problem = ("killed", f"the step's output was too large or malformed ({exc})")
    if result is not None and problem is None:
        # Answer first: the caller need not wait for the child's exit to be torn down.
        wire.write_all(out_fd, wire.encode(wire.RESULT, result))
        _stop(pid)
        return
    status = _stop(pid)
    _send_result(out_fd, *(problem or _explain_exit(status, timeout)))


def _stop(pid: int) -> int:
    """Kill the child's whole process group (stragglers too) and reap the child."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):  # already gone
            kill(pid, signal.SIGKILL)
    _pid, status = os.waitpid(pid, 0)
    return status


def _explain_exit(status: int, timeout: float) -> tuple[str, str]:
    """(status, message) for a child that ended without sending a result."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return "killed", f"the step used more than {timeout:g} s of CPU time and was stopped"
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        hint = " (the machine may be out of memory)" if number == signal.SIGKILL else ""
        return "killed", f"the step's process died from signal {name}{hint}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return "exception", f"the step's process exited with status {code} before sending a result"


def _send_result(out_fd: int, status: str, message: str) -> None:
    kind = LimitExceeded.__name__ if status == "killed" else "SandboxError"
    error = {"type": kind, "message": message, "line": None}
    result = {"status": status, "state": None, "error": error}
    wire.write_all(out_fd, wire.encode_json(wire.RESULT, result))


def _mb(size: int) -> str:
    """A size as people read it: 12.3 MB, 10 MB, 97.7 KB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{size / 1024:.3g} KB"


# The child, from fork to os._exit. Everything it sends is scrubbed first.


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
            note = (f"{self.dropped_lines} more log lines ({_mb(self.dropped_bytes)}) were "
                    f"dropped: a step may log at most {_mb(self.budget)}.")  # fmt: skip
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


def run_child(request: dict, result_fd: int, failed: dict[str, str]) -> None:
    """Lock this forked process down, run the step, send the result, exit."""
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # direct writes to fd 1/2 go nowhere, never into a frame
    # Only the result pipe stays open: not the server's protocol pipes, not its stdin.
    os.closerange(3, result_fd)
    os.closerange(result_fd + 1, 1 << 16)
    os.environ.clear()
    state = request["state"]
    configuration = state.get("configuration") if isinstance(state, dict) else None
    scrubber = Scrubber.from_configuration(configuration or {})
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
        return "exception", None, _error("SandboxError", f"the job runtime is missing ({why})")
    adaptor = str(request["adaptor"])
    why = failed.get(f"adaptor {adaptor.split('@')[0]}")
    if why is not None:
        message = f"the adaptor {adaptor!r} could not be loaded ({why})"
        return "crashed", None, _error("JobCompileError", message)
    from workers.runtime.job import run_job

    try:
        return "success", run_job(request["body"], adaptor, request["state"]), None
    except BaseException as exc:  # job code can raise anything, SystemExit included
        return _classify(exc, int(request["memory_mb"]))


def _classify(exc: BaseException, memory_mb: int) -> tuple[str, dict | None, dict | None]:
    """Map what a step raised onto a status, the state to keep, and the error."""
    if _caused_by(exc, MemoryError):
        guard.release_memory_headroom()  # room to build and send this result
        message = f"the step used more than {memory_mb} MB of memory and was stopped"
        return "killed", None, _error("LimitExceeded", message)
    if isinstance(exc, RuntimeFailure):
        return exc.kind, exc.state if isinstance(exc, JobError) else None, exc.as_dict()
    if isinstance(exc, PermissionError | ImportError) and "Ferry sandbox" in str(exc):
        return "failed", None, _error("SecurityViolation", str(exc))
    if isinstance(exc, RecursionError | SystemExit):
        message = "job code may not exit the process" if isinstance(exc, SystemExit) else exc
        return "failed", None, _error("JobError", str(message))
    return "exception", None, _error(type(exc).__name__, f"the runtime failed: {exc}")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _error(kind: str, message: str) -> dict:
    return {"type": kind, "message": message, "line": None}


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
            status, error = "failed", _error("StateError", f"the output state is not JSON: {exc}")
        except MemoryError:
            guard.release_memory_headroom()
            message = f"the step's output state needs more than {request['memory_mb']} MB"
            status, error, encoded = "killed", _error("LimitExceeded", message), b"null"
        limit = int(request["max_output_bytes"])
        if len(encoded) > limit:
            size = _mb(len(encoded))
            message = f"the step's output state is {size}, above the {_mb(limit)} limit"
            status, error, encoded = "killed", _error("LimitExceeded", message), b"null"
    head = json.dumps({"status": status, "error": scrubber.scrub_json(error)}).encode()
    wire.write_all(fd, wire.encode(wire.RESULT, head[:-1] + b', "state": ' + encoded + b"}"))


def main() -> None:
    """Serve requests from stdin until it closes."""
    # The protocol gets private copies of stdin/stdout; fd 1 then points at stderr, so a
    # stray print from an imported library can never corrupt a frame.
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    failed = preload()
    os.chdir("/")
    # Objects made so far are shared read-only by every child; freezing them keeps the
    # children's garbage collector from touching (and so copying) those pages.
    gc.collect()
    gc.freeze()
    wire.write_all(out_fd, wire.encode_json(wire.READY, {"failed": failed}))
    reader = wire.FrameReader(in_fd)
    while (frame := reader.read()) is not None:
        kind, payload = frame
        if kind == wire.REQUEST:
            # From here on the step may have effects, so the caller must not resend it.
            wire.write_all(out_fd, wire.encode(wire.ACCEPTED, b"{}"))
            serve_step(json.loads(payload), out_fd, failed)


if __name__ == "__main__":
    main()
