"""Why a job did not succeed. `kind` maps onto a step run's exit reason.

Every failure carries a stable `code` (one of CODES) and small `details` (host and port, the
missing key, the record number inside `each`, ...) next to its technical `message`. The web
side turns code + details into a plain sentence (app/services/runs/plain_errors.py); the codes
are plain strings shared by convention, listed once here, and a test checks that every one
has a sentence there.
"""

from __future__ import annotations

import re

# code -> what it means (for people reading this file; the sentences live in the app).
CODES: dict[str, str] = {
    # Reaching other systems
    "connection_refused": "nothing answered at host:port",
    "connection_timeout": "host:port did not answer in time when connecting",
    "request_timeout": "a request was sent but the answer did not come in time",
    "dns_failed": "a host name could not be found",
    "tls_failed": "the secure (TLS) connection could not be set up",
    "connection_failed": "the connection failed or was cut for another reason",
    "egress_blocked": "the project may not connect to that address",
    "http_error": "the other system answered with an HTTP error status",
    "http_bad_response": "the answer could not be read (not valid JSON)",
    "too_many_redirects": "the other system redirected too often",
    "redirect_refused": "a redirect to another origin was refused (credential attached)",
    "database_unreachable": "the database could not be connected to",
    "database_error": "the database refused a statement",
    # The data and the state
    "missing_key": "the data has no such key",
    "missing_index": "a list has no item at that position",
    "not_an_object": "a value was read like an object but is a list or plain value",
    "wrong_type": "an operation got a value of the wrong kind",
    "bad_argument": "an operation got an argument it cannot use",
    "validation_failed": "the data did not match the schema",
    "assertion_failed": "a check in the job (assert_) failed, with the job's own words",
    "returned_none": "an operation or function returned nothing instead of the state",
    "returned_not_state": "an operation or function returned something else than the state",
    "state_not_json": "the state holds a value JSON cannot carry",
    "input_not_object": "the step's input is not a JSON object",
    "credential_missing_field": "the step's credential lacks a field it needs",
    "credential_unavailable": "the step's credential cannot be used",
    # The job code
    "syntax_error": "the job code is not valid Python",
    "code_not_allowed": "the job code uses something jobs may not use",
    "compile_error": "the job code could not be set up",
    "unknown_adaptor": "the step's adaptor does not exist",
    "import_blocked": "the job code imports a module jobs may not use",
    "sandbox_refused": "the job tried something the sandbox forbids",
    "job_error": "the job code or an operation raised an error",
    "job_exit": "the job code tried to exit the process",
    # Limits and the sandbox itself
    "time_limit": "the step ran longer than its time limit",
    "run_time_limit": "the run ran longer than its project's run time limit",
    "cpu_limit": "the step used more CPU time than allowed",
    "memory_limit": "the step used more memory than allowed",
    "output_limit": "the step's output state is too large",
    "log_limit": "the step sent too many logs and output",
    "process_died": "the step's process died",
    "sandbox_failed": "the sandbox running the step failed",
    "runtime_error": "Ferry's runtime failed unexpectedly",
    # The run as a whole (executor and lifecycle)
    "input_unavailable": "the run's input could not be read",
    "worker_stopped": "the worker was stopped during the run",
    "run_lost": "the worker stopped reporting during the run",
    "ferry_error": "Ferry itself failed while running the run",
}


class RuntimeFailure(Exception):
    """Base class. `line` is the job-code line to look at (1-based), when known."""

    kind = "exception"
    code = "runtime_error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        state: dict | None = None,
        code: str | None = None,
        details: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.line = line
        # The state as it was after the last operation that succeeded (for failed jobs).
        self.state = state
        self.code = code or type(self).code
        self.details = dict(details or {})

    def as_dict(self) -> dict:
        """The error as stored on a step run and shown to people."""
        return error_dict(type(self).__name__, self.message, self.code, self.details, self.line)


class JobCompileError(RuntimeFailure):
    """The job code could not run: syntax error, unknown operation, bad top-level statement."""

    kind = "crashed"
    code = "compile_error"


class JobError(RuntimeFailure):
    """An operation raised while running (an HTTP error, a failed assertion, ...)."""

    kind = "failed"
    code = "job_error"


class StateError(JobError):
    """An operation broke the state contract: returned None, or left non-JSON values."""

    code = "state_not_json"


class SecurityViolation(JobError):
    """The job tried something the sandbox forbids (a blocked import, file or address)."""

    code = "sandbox_refused"

    def __init__(self, message: str, **kwargs) -> None:
        if kwargs.get("code") is None:
            kwargs["code"], found = refusal_code(message)
            kwargs["details"] = {**found, **(kwargs.get("details") or {})}
        super().__init__(message, **kwargs)


class LimitExceeded(RuntimeFailure):
    """A limit was hit: time, memory, log or output size."""

    kind = "killed"
    code = "time_limit"


def error_dict(
    kind: str, message: str, code: str, details: dict | None = None, line: int | None = None
) -> dict:
    """The stored form of an error: type and message (technical) plus code and details."""
    error = {"type": kind, "message": message, "line": line, "code": code}
    if details:
        error["details"] = details
    return error


def tag(exc: BaseException, code: str, **details: object) -> BaseException:
    """`exc` (a TypeError, ValueError, ...) marked with a code and details, for an operation
    that raises a Python error but still wants its failure explained plainly."""
    exc.ferry_code = code  # type: ignore[attr-defined]
    exc.ferry_details = details  # type: ignore[attr-defined]
    return exc


def code_of(exc: BaseException) -> tuple[str | None, dict]:
    """The code and details an exception carries (a RuntimeFailure, a tagged exception or a
    StateKeyError), or (None, {})."""
    if isinstance(exc, RuntimeFailure):
        return exc.code, dict(exc.details)
    code = getattr(exc, "ferry_code", None)
    details = getattr(exc, "ferry_details", None)
    if isinstance(code, str):
        return code, dict(details) if isinstance(details, dict) else {}
    return None, {}


_EGRESS = re.compile(r"connecting to (?P<address>\S+) is not allowed \((?P<reason>[^)]*)\)")
_UNRESOLVED = re.compile(r"(?:cannot resolve|connecting to) '(?P<host>[^']+)'(?:, which does not)?")
_IMPORT = re.compile(r"importing '(?P<module>[^']+)'")


def refusal_code(message: str) -> tuple[str, dict]:
    """The code and details of a sandbox refusal, read from its (Ferry-written) message."""
    if found := _EGRESS.search(message):
        address = found["address"]
        host, _, port = address.rpartition(":")
        return "egress_blocked", {
            "address": address,
            "host": host.strip("[]"),
            "port": port,
            "reason": found["reason"],
        }
    if "does not resolve" in message or "cannot resolve" in message:
        found = _UNRESOLVED.search(message)
        return "dns_failed", {"host": found["host"]} if found else {}
    if found := _IMPORT.search(message):
        return "import_blocked", {"module": found["module"]}
    return "sandbox_refused", {}


def add_details(exc: BaseException, **details: object) -> None:
    """Add details (the record number inside `each`) to a failure on its way out, keeping
    what is already there: the innermost `each` knows the record that failed."""
    if isinstance(exc, RuntimeFailure):
        for key, value in details.items():
            exc.details.setdefault(key, value)
        return
    code, found = code_of(exc)
    if code is None:
        code, found = "job_error", {"exception": type(exc).__name__}
    tag(exc, code, **{**details, **found})
