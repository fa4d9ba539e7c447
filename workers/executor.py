"""Runs one run: claim it, walk the workflow (workers.walker), run each step in the sandbox,
and persist every step's input, output, logs and exit reason as it happens.

A step that fails in a way its retry policy retries pauses the walk: the run is parked until
the retry is due (`run_lifecycle.wait_for_retry`) and the worker moves on; whichever worker
claims it then continues from its resume point (`workers.resume`)."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.json_text import JsonText
from app.models import RunState, StepExitReason
from app.models.base import utcnow
from app.services.credentials import store as credentials
from app.services.errors import ServiceError
from app.services.runs import claims as run_claims
from app.services.runs import dataclips, queue, retry_policy
from app.services.runs import lifecycle as run_lifecycle
from app.services.runs.claims import ClaimedRun
from app.services.runs.lifecycle import StepOutcome
from workers import collections_access, held_bodies, large_states, run_limits, walker
from workers import resume as resumption
from workers.heartbeat import Heartbeat
from workers.runtime.errors import error_dict
from workers.runtime.logs import LogLine
from workers.runtime.protocol import StepRequest, StepResult
from workers.snapshots import plan_for

log = logging.getLogger("ferry.executor")


class RunExecutor:
    """Executes runs with one sandbox; one executor per worker process."""

    def __init__(self, sandbox, worker_name: str) -> None:
        self.sandbox = sandbox
        self.worker_name = worker_name
        self.settings = current_app.config["FERRY_SETTINGS"]
        self.heartbeat = Heartbeat(current_app._get_current_object(), self.settings.heartbeat_s)

    def execute(self, run_id: uuid.UUID) -> None:
        """Claim and execute the run (or the one ahead of it); never raises for run errors."""
        run = run_claims.claim(run_id, self.worker_name)
        if run is None:
            return
        with self.heartbeat.beating(run.id):
            self._execute_recorded(run)
        if run.capped:
            # Only a cap holds runs back, so only a capped run's end can let one start.
            for waiting, priority in run_claims.waiting_runs_in_lanes(run):
                queue.enqueue_run(waiting, priority=priority)

    def _execute_recorded(self, run: ClaimedRun) -> None:
        execution = RunExecution(self.sandbox, run, self.settings)
        try:
            execution.execute()
        except Exception as error:  # Ferry itself failed: record it, never leave it open
            log.exception("run %s failed inside Ferry", run.id)
            db.session.rollback()
            _store_quietly(run, execution.unstored)
            run_lifecycle.finish(
                run,
                RunState.EXCEPTION,
                error_type=type(error).__name__,
                error_message=_ferry_error_message(error),
                open_steps_end=StepExitReason.EXCEPTION,
                announce_start=execution.start_event_due(),
            )
            execution.held.release()
        except BaseException:
            # A second SIGTERM (cold shutdown) stops the worker mid-run: say so at once
            # rather than leave the run `started` until the reaper notices.
            db.session.rollback()
            _store_quietly(run, execution.unstored)
            run_lifecycle.finish(
                run,
                RunState.LOST,
                error_type="WorkerStopped",
                error_message="The worker was stopped during the run.",
                open_steps_end=StepExitReason.LOST,
                announce_start=execution.start_event_due(),
            )
            raise


class RunExecution:
    """One run on its way: its plan, credentials, egress allowlist and scrubber, and the
    outcome of the last step while it waits to travel with the next write."""

    def __init__(self, sandbox, run: ClaimedRun, settings) -> None:
        # The project's limits (run time, memory per step, logs kept), within the instance's.
        self.settings, self.limits = settings, run_limits.for_run(run, settings)
        self.sandbox, self.run, self.timeout_s = sandbox, run, float(self.limits.run_timeout_s)
        self._logs_noted = False
        self.unstored: StepOutcome | None = None
        self._start_announced = False
        self._retry_in: float | None = None  # the wait before the failed step's next attempt
        self.held = held_bodies.HeldBodies(run)  # zero persistence: bodies held in Redis

    def start_event_due(self) -> bool:
        """True the first time only: the run's first write carries its `run_started`."""
        due, self._start_announced = not self._start_announced, True
        return due

    def execute(self) -> None:
        """Walk the run's workflow from its trigger or starting step, then finish it."""
        run = self.run
        self.plan = plan_for(run.snapshot_id)
        try:
            if run.resume:
                initial, resumed = {}, resumption.pending_steps(run.resume)
            else:
                initial, resumed = self._initial_state(), None
        except ServiceError as error:
            run_lifecycle.finish(
                run,
                RunState.EXCEPTION,
                error_type="InputUnavailable",
                error_message=error.message,
                announce_start=self.start_event_due(),
            )
            return
        credential_ids = self.plan.credential_ids()
        found = credentials.credentials_for_run(credential_ids, run.project_id)
        if credential_ids:
            db.session.commit()  # release the read transaction (and refresh locks) first
        self.secrets, self.problems = found.bodies, found.problems
        self.masker = _scrubber(self.secrets)
        self.scrub = self.masker.scrub_json
        if resumed is not None:
            first = resumed
        elif run.starting_step_id is not None:
            first = [walker.PendingStep(str(run.starting_step_id), initial, run.dataclip_id)]
        else:
            first = walker.first_steps(
                self.plan.edges_from.get(str(run.starting_trigger_id), []),
                initial,
                self.expression_holds,
                run.dataclip_id,
            )
        spent_s, began = resumption.spent_s(run.resume), time.monotonic()
        outcome = walker.walk(
            first,
            self.plan.edges_from,
            self.run_step,
            self.expression_holds,
            self.timeout_s,
            reached=resumption.leaves(run.resume) if run.resume else None,
            wait_for=lambda _pending: self._retry_in,
            spent_s=spent_s,
        )
        if outcome.paused is not None:
            self._wait(outcome, spent_s + time.monotonic() - began)
            return
        error = outcome.worst_error or {}
        if error.get("type") == "RunTimeout":  # time ran out between steps
            error = run_limits.run_time_error(self.limits, self.settings)
        self.held.ending(outcome.status, outcome.final_ref)
        run_lifecycle.finish(
            run,
            RunState(outcome.status),
            last_step=self.unstored,
            final_dataclip_id=outcome.final_ref,
            error_type=error.get("type"),
            error_message=error.get("message"),
            announce_start=self.start_event_due(),
        )
        self.unstored = None

    def _initial_state(self) -> dict:
        """The state the run's first steps receive, from its input dataclip (or Redis)."""
        return dataclips.input_state(self.run.dataclip_id, self.run.input_clip)

    def _wait(self, outcome: walker.Walk, spent_s: float) -> None:
        """Park the run until its failed step's next attempt is due (the worker is free)."""
        self.held.waiting(outcome)
        run_lifecycle.wait_for_retry(
            self.run,
            available_at=utcnow() + timedelta(seconds=outcome.paused.delay_s),
            resume=resumption.resume_point(outcome, spent_s, self.run.resume),
            last_step=self.unstored,
            announce_start=self.start_event_due(),
        )
        self.unstored = None

    def expression_holds(self, expression: str, state: dict) -> bool:
        """Whether an edge expression holds; it is user code too, so it runs in the sandbox."""
        check = self.sandbox.run(
            StepRequest(
                body=walker.expression_body(expression),
                adaptor="common",
                state=state,  # sent as JSON: the sandbox cannot change the caller's copy
                timeout_s=10,
                memory_mb=self.limits.step_memory_mb,
                egress_allow=list(self.run.egress_allow),
            )
        )
        return check.status == "success" and (check.state or {}).get("data") is True

    def run_step(
        self, pending: walker.PendingStep, remaining: float
    ) -> tuple[StepResult, dict, uuid.UUID | None]:
        """Record the step's start, run it, and store (or hold) its outcome."""
        step = self.plan.steps[pending.step_id]
        step_run_id = run_lifecycle.begin_step(
            self.run,
            step,
            pending.input_ref,
            after=self.unstored,
            announce_start=self.start_event_due(),
            attempt=pending.attempt,
        )
        self.unstored = None  # stored with this step's start
        result = self._result(step, pending, remaining)
        result = run_limits.explain_timeout(result, self.limits, self.settings)
        state = result.state if result.state is not None else copy.deepcopy(pending.state)
        state = large_states.objects_needed(state, result.status == "success", self.masker)
        if not isinstance(state, JsonText):
            state.pop("configuration", None)
            if result.status != "success":
                errors = state.setdefault("errors", {})
                if isinstance(errors, dict):
                    errors[pending.step_id] = result.error
            state = self.scrub(state)
        # Only failures another system caused are retried (retry_policy.failure_kind).
        self._retry_in = None
        if result.status != "success":
            policy = self.plan.retry_policy_for(pending.step_id)
            self._retry_in = retry_policy.retry_delay(policy, result.error, pending.attempt)
        retry_at = None
        if self._retry_in is not None:
            retry_at = utcnow() + timedelta(seconds=self._retry_in)
        outcome = StepOutcome(
            step_run_id,
            pending.step_id,
            StepExitReason(result.status),
            output_state=state,
            error=self.scrub(result.error) if result.error else None,
            logs=[self.scrub(line.as_dict()) for line in self._kept_logs(result.logs)],
            retry_at=retry_at,
            duration_s=result.duration_ms / 1000,
        )
        self.held.step_output(outcome.output_id, state)
        if self.plan.expressions_after(pending.step_id):
            # Edge expressions (user code) run next: store the outcome before them.
            run_lifecycle.finish_step(self.run, outcome)
        else:
            # Nothing but the walker's own bookkeeping runs before the next write (the
            # next step's start or the run's end), so the outcome travels with it.
            self.unstored = outcome
        return result, state, outcome.output_id

    def _result(self, step: dict, pending: walker.PendingStep, remaining: float) -> StepResult:
        credential_id = uuid.UUID(step["credential_id"]) if step["credential_id"] else None
        if credential_id in self.problems:
            return _credential_unavailable(self.problems[credential_id])
        configuration = self.secrets[credential_id] if credential_id is not None else None
        state_in = large_states.with_configuration(pending.state, configuration)
        api = collections_access.for_run(self.run)  # the `collections.*` operations' way in
        return self.sandbox.run(
            StepRequest(
                body=step["body"],
                adaptor=step["adaptor"],
                state=state_in,
                timeout_s=remaining,
                memory_mb=self.limits.step_memory_mb,
                egress_allow=list(self.run.egress_allow),
                ferry_api=api,
                raw_result=True,
            )
        )

    def _kept_logs(self, lines: list[LogLine]) -> list[LogLine]:
        """The step's log lines the project keeps (none but one note when it keeps none)."""
        first, self._logs_noted = not self._logs_noted, True
        return run_limits.kept_logs(lines, self.limits, first)


def _credential_unavailable(problem: str) -> StepResult:
    """A step whose credential cannot be used does not run: it fails, so the workflow's
    failure edges still apply, and says why in its error and its log."""
    return StepResult(
        status="failed",
        state=None,
        error=error_dict("CredentialUnavailable", problem, "credential_unavailable"),
        logs=[LogLine("error", "runtime", problem, time.time())],
        duration_ms=0.0,
    )


def _ferry_error_message(error: Exception) -> str:
    """What a run that Ferry failed says about why. A database error keeps the
    database's own words and drops the statement and its parameters, which SQLAlchemy's
    text carries (a screenful of SQL, and the run's data)."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        lines = str(error.orig).splitlines() or [type(error.orig).__name__]
        details = [
            line.removeprefix("DETAIL:").strip() for line in lines if line.startswith("DETAIL:")
        ]
        said = "; ".join([lines[0].strip(), *details])
        return f"The database could not store the run: {said}"[:2000]
    return str(error)[:2000]


def _store_quietly(run: ClaimedRun, outcome: StepOutcome | None) -> None:
    """On the way out of a failed run, store a step outcome that was still held."""
    if outcome is None:
        return
    try:
        run_lifecycle.finish_step(run, outcome)
    except Exception:  # the outcome itself may be what failed; the run's end matters more
        log.exception("the last step outcome of run %s could not be stored", run.id)
        db.session.rollback()


def _scrubber(secrets: dict):
    """Scrub every credential value used anywhere in the run, not only the step's own."""
    from app.scrub import Scrubber

    configurations = [body for body in secrets.values() if isinstance(body, dict)]
    return Scrubber.from_configuration({"credentials": configurations})
