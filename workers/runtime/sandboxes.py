"""A worker's sandboxes: steps whose adaptor loads a heavy library get a server of their own.

Forking a process costs in proportion to its size (on the 2-core development VM a bare fork
and exit takes 1.8 ms at 13 MB, 4.3 ms at 53 MB). The postgresql adaptor's driver (psycopg,
with its own libpq and OpenSSL) is about a quarter of a server that preloads every adaptor,
and made every step's fork dearer: a trivial step cost 11.5 ms of CPU across server and
child with it loaded, 8.9 ms without. So steps of the other adaptors, and edge expressions,
run in a server without it; postgresql steps run in a second server that preloads
everything, started with the first such step (a worker that never runs one never starts it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from workers.adaptors import ADAPTORS, UnknownAdaptor, parse_ref
from workers.runtime.logs import LogLine
from workers.runtime.protocol import StepRequest, StepResult
from workers.runtime.sandbox import Sandbox

# Adaptors whose steps run in a server of their own (it preloads every adaptor).
SEPARATE_ADAPTORS = frozenset({"postgresql"})


class AdaptorSandboxes:
    """`run` like a Sandbox, each step in the server for its adaptor."""

    def __init__(self) -> None:
        self.main = Sandbox(adaptors=[name for name in ADAPTORS if name not in SEPARATE_ADAPTORS])
        self._separate: Sandbox | None = None
        self._lock = threading.Lock()

    def run(
        self, request: StepRequest, on_log: Callable[[LogLine], None] | None = None
    ) -> StepResult:
        return self._sandbox_for(request.adaptor).run(request, on_log)

    def server_pids(self) -> dict[str, int | None]:
        """The servers' process ids, "main" and (once started) "separate"; for tests."""
        separate = self._separate.server_pid if self._separate is not None else None
        return {"main": self.main.server_pid, "separate": separate}

    def close(self) -> None:
        self.main.close()
        with self._lock:
            if self._separate is not None:
                self._separate.close()

    def __enter__(self) -> AdaptorSandboxes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _sandbox_for(self, adaptor: str) -> Sandbox:
        try:
            name = parse_ref(adaptor)[0]
        except UnknownAdaptor:
            return self.main  # the step fails there, saying which adaptors exist
        if name not in SEPARATE_ADAPTORS:
            return self.main
        with self._lock:
            if self._separate is None:
                self._separate = Sandbox()
            return self._separate
