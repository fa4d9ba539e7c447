"""The project's run limits inside the executor: the run time limit and memory per step a
run gets, the message when the run time limit stops it, and which log lines are kept.

The limits themselves are decided in app.services.project_limits (instance defaults and
maxima); this module only applies them to what the sandbox hands back.
"""

from __future__ import annotations

import dataclasses
import time

from app.services import project_limits
from app.services.project_limits import RunLimits
from app.services.runs.claims import ClaimedRun
from workers.runtime.errors import error_dict
from workers.runtime.logs import LogLine
from workers.runtime.protocol import StepResult

# Stored with the first step of a run whose project keeps no log output, so that an empty
# Logs tab is not mistaken for a step that printed nothing.
NOT_KEPT = LogLine("info", "runtime", project_limits.NOT_KEPT, 0.0)
NOT_KEPT_ZERO_PERSISTENCE = dataclasses.replace(
    NOT_KEPT, message=project_limits.NOT_KEPT_ZERO_PERSISTENCE
)


def for_run(run: ClaimedRun, settings) -> RunLimits:
    """The limits this run works under, from what the claim read about its project."""
    limits = project_limits.effective(
        settings,
        run_timeout_s=run.run_timeout_s,
        step_memory_mb=run.step_memory_mb,
        # A project keeping no bodies keeps no log output either: job code prints data.
        discard_logs=run.discard_logs or run.zero_persistence,
    )
    return dataclasses.replace(limits, zero_persistence=bool(run.zero_persistence))


def run_time_error(limits: RunLimits, settings) -> dict:
    """The error a run (and the step it was in) ends with when its time limit is reached."""
    seconds = limits.run_timeout_s
    return error_dict(
        "RunTimeout",
        f"The run took longer than its time limit of {seconds} s and was stopped; "
        f"change the limit in {project_limits.WHERE}.",
        "run_time_limit",
        {"seconds": seconds, "maximum": settings.max_run_timeout_s},
    )


def explain_timeout(result: StepResult, limits: RunLimits, settings) -> StepResult:
    """A step stopped by the sandbox's clock ran into the run's time limit (each step only
    gets what is left of it), so it says so instead of naming the seconds that were left."""
    error = result.error or {}
    if result.status != "killed" or error.get("code") != "time_limit":
        return result
    return dataclasses.replace(result, error=run_time_error(limits, settings))


def kept_logs(lines: list[LogLine], limits: RunLimits, first_step: bool) -> list[LogLine]:
    """The step's log lines to store: all of them, or when the project keeps no log output,
    none but a note on the run's first step (the step's error is stored all the same)."""
    if not limits.discard_logs:
        return lines
    if not first_step:
        return []
    note = NOT_KEPT_ZERO_PERSISTENCE if limits.zero_persistence else NOT_KEPT
    return [dataclasses.replace(note, timestamp=time.time())]
