"""Log lines from job code, adaptors and the runtime.

Code anywhere in a step calls `emit(level, source, message)`; whoever runs the step decides
where lines go by installing a sink with `capture(sink)` (the sandbox child streams them to
its parent; with no sink they go to stderr).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

LEVELS = ("debug", "info", "warn", "error")
SOURCES = ("job", "adaptor", "runtime")


@dataclass(frozen=True)
class LogLine:
    """One line: level, source (`job`, `adaptor`, `runtime`), message, epoch timestamp."""

    level: str
    source: str
    message: str
    timestamp: float

    def as_dict(self) -> dict:
        """A JSON-ready dict."""
        # Not dataclasses.asdict: its recursive deep copy is slow for four plain fields.
        return {"level": self.level, "source": self.source, "message": self.message,
                "timestamp": self.timestamp}  # fmt: skip


LogSink = Callable[[LogLine], None]


def _to_stderr(line: LogLine) -> None:
    print(f"[{line.source}] {line.level.upper()}: {line.message}", file=sys.stderr)


_sink: ContextVar[LogSink] = ContextVar("ferry_log_sink", default=_to_stderr)


def emit(level: str, source: str, message: str) -> None:
    """Record a log line with the current sink."""
    if level not in LEVELS:
        level = "info"
    if source not in SOURCES:
        source = "runtime"
    _sink.get()(LogLine(level, source, str(message), time.time()))


@contextlib.contextmanager
def capture(sink: LogSink) -> Iterator[None]:
    """Send every line emitted inside the block to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
