"""Why a job did not succeed. `kind` maps onto a step run's exit reason."""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Base class. `line` is the job-code line to look at (1-based), when known."""

    kind = "exception"

    def __init__(self, message: str, *, line: int | None = None, state: dict | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        # The state as it was after the last operation that succeeded (for failed jobs).
        self.state = state

    def as_dict(self) -> dict:
        """The error as stored on a step run and shown to people."""
        return {"type": type(self).__name__, "message": self.message, "line": self.line}


class JobCompileError(RuntimeFailure):
    """The job code could not run: syntax error, unknown operation, bad top-level statement."""

    kind = "crashed"


class JobError(RuntimeFailure):
    """An operation raised while running (an HTTP error, a failed assertion, ...)."""

    kind = "failed"


class StateError(JobError):
    """An operation broke the state contract: returned None, or left non-JSON values."""


class SecurityViolation(JobError):
    """The job tried something the sandbox forbids (a blocked import, file or address)."""


class LimitExceeded(RuntimeFailure):
    """A limit was hit: time, memory, log or output size."""

    kind = "killed"
