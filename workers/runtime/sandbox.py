"""Running untrusted job code: `Sandbox().run(StepRequest(...)) -> StepResult`.

A Sandbox owns one sandbox server process (`sandbox_server`), started with an empty
environment so it holds no database URL, no keys and no Flask app. The server forks a fresh,
locked-down child per step, which costs milliseconds because the runtime and adaptors are
already imported. Nothing a job does can harm the calling process: the worst case is a dead
server, which the next `run` replaces. One Sandbox runs one step at a time (calls are
serialised); use one per worker process or thread for parallel steps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from app.json_text import RAW_ABOVE_BYTES, JsonText
from workers.runtime import wire
from workers.runtime.errors import error_dict
from workers.runtime.logs import LogLine
from workers.runtime.protocol import StepRequest, StepResult

# The directory that holds the `workers` package; the server imports the same code.
_CODE_ROOT = Path(__file__).resolve().parents[2]
# How long the server may take to import everything, and how long beyond a step's own
# timeout we wait before deciding the server itself is stuck.
START_TIMEOUT_S = 60.0
SERVER_GRACE_S = 15.0


class SandboxError(RuntimeError):
    """The sandbox server could not be started."""


class Sandbox:
    """A warm sandbox server that runs steps in forked, locked-down children."""

    def __init__(self, python: str | None = None, adaptors: Sequence[str] | None = None) -> None:
        """`adaptors`: the adaptors the server preloads (default all); a step may use only
        those (see `workers.runtime.sandboxes`)."""
        self.python = python or sys.executable
        self.adaptors = tuple(adaptors) if adaptors is not None else None
        self.preload_failures: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: subprocess.Popen | None = None
        self._reader: wire.FrameReader | None = None
        with self._lock:
            self._start()

    @property
    def server_pid(self) -> int | None:
        """The server's process id (tests kill it to check restarts)."""
        return self._server.pid if self._server is not None else None

    def _start(self) -> None:
        self._server = subprocess.Popen(
            [self.python, "-s", "-E", "-m", "workers.runtime.sandbox_server", *self._server_args()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={},  # nothing from the worker's environment: no DATABASE_URL, no keys
            cwd=_CODE_ROOT,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C aimed at the worker is for the worker
        )
        self._reader = wire.FrameReader(self._server.stdout.fileno())
        try:
            frame = self._reader.read(time.monotonic() + START_TIMEOUT_S)
        except (TimeoutError, wire.WireError, OSError):
            frame = None
        if frame is None or frame[0] != wire.READY:
            self._stop_server()
            raise SandboxError("the sandbox server did not start; see the worker's stderr")
        self.preload_failures = json.loads(frame[1])["failed"]

    def _server_args(self) -> list[str]:
        return [] if self.adaptors is None else ["--adaptors", ",".join(self.adaptors)]

    def _stop_server(self) -> None:
        server, self._server, self._reader = self._server, None, None
        if server is None:
            return
        if server.poll() is None:
            server.kill()
        server.wait()
        for pipe in (server.stdin, server.stdout):
            if pipe is not None:
                pipe.close()

    def run(
        self, request: StepRequest, on_log: Callable[[LogLine], None] | None = None
    ) -> StepResult:
        """Run one step; `on_log` sees each log line as it arrives."""
        started = time.monotonic()
        lines: list[LogLine] = []
        try:
            payload = _request_pieces(request)
        except (TypeError, ValueError) as exc:
            return _failure("exception", f"the input state is not JSON: {exc}", lines, started)
        with self._lock:
            try:
                result = self._exchange(payload, request, lines, on_log)
            except (OSError, TimeoutError, wire.WireError, SandboxError) as exc:
                # The server died or hung mid-step: replace it next time. Never resend the
                # step: it may have written to an external system already.
                self._stop_server()
                message = f"the sandbox stopped unexpectedly ({type(exc).__name__}: {exc})"
                return _failure("exception", message, lines, started)
        return StepResult(
            status=result["status"],
            state=result.get("state"),
            error=result.get("error"),
            logs=lines,
            duration_ms=(time.monotonic() - started) * 1000,
        )

    def _exchange(
        self,
        payload: tuple[bytes, ...],
        request: StepRequest,
        lines: list[LogLine],
        on_log: Callable | None,
    ) -> dict:
        """Send the request and collect the answer, on a fresh server if the old one died
        before it accepted the request (then the step cannot have started)."""
        for attempt in (1, 2):
            if self._server is None or self._server.poll() is not None:
                self._stop_server()
                self._start()
            try:
                wire.write_frame(self._server.stdin.fileno(), wire.REQUEST, payload)
                frame = self._reader.read(time.monotonic() + SERVER_GRACE_S)
            except (OSError, wire.WireError):
                frame = None
            if frame is not None and frame[0] == wire.ACCEPTED:
                return self._collect(request, lines, on_log)
            if attempt == 2 or frame is not None:
                raise wire.WireError(f"the sandbox server answered {frame!r:.60} to a request")
            self._stop_server()
        raise AssertionError("unreachable")

    def _collect(self, request: StepRequest, lines: list[LogLine], on_log: Callable | None) -> dict:
        """Read log frames until the result frame."""
        deadline = time.monotonic() + request.timeout_s + SERVER_GRACE_S
        callback_error: Exception | None = None
        while True:
            frame = self._reader.read(deadline)
            if frame is None:
                raise wire.WireError("the sandbox server closed its pipe")
            kind, payload = frame
            if kind == wire.RESULT:
                if callback_error is not None:
                    raise callback_error  # only now: the stream is in step for the next run
                return _result_of(payload, request.raw_result)
            if kind == wire.LOG:
                line = LogLine(**json.loads(payload))
                lines.append(line)
                if on_log is not None and callback_error is None:
                    try:
                        on_log(line)
                    except Exception as exc:
                        callback_error = exc

    def close(self) -> None:
        """Stop the server: closing its stdin makes it exit; kill it if it lingers."""
        with self._lock:
            server = self._server
            if server is None:
                return
            try:
                server.stdin.close()
                server.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._stop_server()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _request_pieces(request: StepRequest) -> tuple[bytes, ...]:
    """The request frame's payload in pieces: a JsonText state goes as it is, unparsed."""
    fields = request.as_wire()
    state = fields["state"]
    if not isinstance(state, JsonText):
        return (json.dumps(fields, ensure_ascii=False).encode(),)
    del fields["state"]
    head = json.dumps(fields, ensure_ascii=False).encode()[:-1] + _STATE_MARKER
    return (head, *state.pieces, b"}")


def _result_of(payload: bytes, raw: bool) -> dict:
    """The result frame's dict; with `raw`, a large state stays JSON text (JsonText).

    The child writes the state last and says its length (`state_bytes`), so the head is
    found without parsing the state: the first marker whose head parses and whose length
    matches (a marker may also occur inside the error's details or inside the state)."""
    if not raw or len(payload) <= RAW_ABOVE_BYTES:
        return json.loads(payload)
    at = payload.find(_STATE_MARKER)
    while at != -1:
        try:
            head = json.loads(bytes(payload[:at]) + b"}")
        except ValueError:
            head = None
        state_at = at + len(_STATE_MARKER)
        if isinstance(head, dict) and head.get("state_bytes") == len(payload) - state_at - 1:
            # The state's text stays in the frame's own buffer: cut its head and brace off.
            state = payload if isinstance(payload, bytearray) else bytearray(payload)
            del state[-1:]
            del state[:state_at]
            head["state"] = JsonText((state,)) if state[:1] == b"{" else json.loads(state)
            return head
        at = payload.find(_STATE_MARKER, at + 1)
    return json.loads(payload)


_STATE_MARKER = b', "state": '


def _failure(status: str, message: str, lines: list[LogLine], started: float) -> StepResult:
    error = error_dict("SandboxError", message, "sandbox_failed")
    return StepResult(status, None, error, lines, (time.monotonic() - started) * 1000)
