"""Running one step's job code: compile it, apply its operations in order, return the state.

The sandbox calls `run_job` inside its locked-down child; tests and tools may call it directly.
"""

from __future__ import annotations

import time

from workers.runtime.compiled_jobs import compiled
from workers.runtime.compiler import Step
from workers.runtime.errors import (
    JobCompileError,
    JobError,
    LimitExceeded,
    RuntimeFailure,
    SecurityViolation,
    StateError,
    code_of,
)
from workers.runtime.logs import emit
from workers.runtime.state import check_json, initial_state, without_configuration

# Our own failures keep their type and message; the operation's line is added when missing.
_PASS_THROUGH = (JobCompileError, StateError, SecurityViolation, LimitExceeded)


def run_job(source: str, adaptor: str, state: dict, *, own_state: bool = False) -> dict:
    """Run job code with adaptor `adaptor` ("http@1") on a copy of `state`; the output state.
    `own_state`: the caller hands `state` over (the sandbox child, which parsed it from its
    request), so it is not copied: a 10 MB state parses into some 40 MB of objects."""
    steps = compiled(source, adaptor).build()
    current = initial_state(state, copy=not own_state)
    for number, step in enumerate(steps, start=1):
        started = time.perf_counter()
        current = _apply(step, current)
        elapsed = round((time.perf_counter() - started) * 1000)
        emit(
            "info",
            "runtime",
            f"Operation {number}/{len(steps)} {step.name} finished in {elapsed} ms",
        )
    output = without_configuration(current)
    check_json(output)
    return output


def _apply(step: Step, state: dict) -> dict:
    """The state after `step`, or the failure naming the operation and its line."""
    where = f"operation {step.name!r} on line {step.line}"
    try:
        result = step.operation(state)
    except MemoryError:
        raise  # the sandbox reports it as a memory limit; building messages could fail again
    except _PASS_THROUGH as exc:
        exc.line = exc.line or step.line
        exc.details.setdefault("operation", step.name)
        if isinstance(exc, JobError) and exc.state is None:
            exc.state = _failed_state(state)
        raise
    except JobError as exc:
        # Raised on purpose by an operation (an HTTP error, a failed assertion): already worded.
        raise JobError(f"{_capital(where)} failed: {exc.message}", line=step.line,
                       state=exc.state or _failed_state(state), code=exc.code,
                       details={"operation": step.name, **exc.details}) from exc  # fmt: skip
    except RuntimeFailure as exc:
        exc.line = exc.line or step.line
        raise
    except Exception as exc:
        code, details = code_of(exc)
        details = {"operation": step.name, **details}
        if isinstance(exc, PermissionError | ImportError) and "Ferry sandbox" in str(exc):
            raise SecurityViolation(
                f"{_capital(where)} was stopped: {exc}",
                line=step.line,
                state=_failed_state(state),
                details=details,
            ) from exc
        if code is None:
            code, details["exception"] = "job_error", type(exc).__name__
        raise JobError(
            f"{_capital(where)} failed: {type(exc).__name__}: {exc}",
            line=step.line,
            state=_failed_state(state),
            code=code,
            details=details,
        ) from exc
    if result is None:
        raise StateError(
            f"{_capital(where)} returned None: return the state (e.g. `return state`).",
            line=step.line,
            state=_failed_state(state),
            code="returned_none",
            details={"operation": step.name},
        )
    if not isinstance(result, dict):
        raise StateError(
            f"{_capital(where)} returned {type(result).__name__}, not the state: return a dict "
            "such as {**state, 'data': ...}.",
            line=step.line,
            state=_failed_state(state),
            code="returned_not_state",
            details={"operation": step.name, "got": type(result).__name__},
        )
    return result


def _failed_state(state: dict) -> dict | None:
    """The state to keep for a failed step: without configuration, and only if JSON can hold it."""
    kept = without_configuration(state)
    try:
        check_json(kept)
    except StateError:
        return None
    return kept


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
