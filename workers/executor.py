"""Runs one run: claim it, walk the workflow (workers.walker), run each step in the sandbox,
and persist every step's input, output, logs and exit reason as it happens."""

from __future__ import annotations

import copy
import logging
import uuid

from flask import current_app

from app.extensions import db
from app.models import Project, RunState, StepExitReason
from app.services import credentials, dataclips, run_lifecycle, run_queue
from app.services.errors import ServiceError
from workers import walker
from workers.heartbeat import Heartbeat
from workers.runtime.protocol import StepRequest, StepResult
from workers.snapshots import RunPlan, plan_for

log = logging.getLogger("ferry.executor")


class RunExecutor:
    """Executes runs with one sandbox; one executor per worker process."""

    def __init__(self, sandbox, worker_name: str) -> None:
        self.sandbox = sandbox
        self.worker_name = worker_name
        self.settings = current_app.config["FERRY_SETTINGS"]

    def execute(self, run_id: uuid.UUID) -> None:
        """Claim and execute the run (or the one ahead of it); never raises for run errors."""
        run = run_lifecycle.claim(run_id, self.worker_name)
        if run is None:
            return
        try:
            with Heartbeat(current_app._get_current_object(), run.id, self.settings.heartbeat_s):
                self._execute(run)
        except Exception as error:  # Ferry itself failed: record it, never leave it open
            log.exception("run %s failed inside Ferry", run.id)
            db.session.rollback()
            run_lifecycle.finish(
                run,
                RunState.EXCEPTION,
                error_type=type(error).__name__,
                error_message=str(error)[:2000],
            )
        except BaseException:
            # A second SIGTERM (cold shutdown) stops the worker mid-run: say so at once
            # rather than leave the run `started` until the reaper notices.
            db.session.rollback()
            run_lifecycle.finish(
                run,
                RunState.LOST,
                error_type="WorkerStopped",
                error_message="The worker was stopped during the run.",
            )
            raise
        for waiting in run_lifecycle.waiting_runs_after(run):
            run_queue.enqueue_run(waiting)

    def _execute(self, run: run_lifecycle.ClaimedRun) -> None:
        plan = plan_for(run.snapshot_id)
        try:
            initial = dataclips.input_state(run.dataclip_id)
        except ServiceError as error:
            run_lifecycle.finish(
                run, RunState.EXCEPTION, error_type="InputUnavailable", error_message=error.message
            )
            return
        run_lifecycle.start(run)
        secrets = credentials.bodies_for_run(plan.credential_ids())
        allow = list(db.session.get(Project, run.project_id).egress_allowlist or [])
        db.session.commit()  # release the read transaction while steps run
        scrub = _scrubber(secrets)

        def expression_holds(expression: str, state: dict) -> bool:
            # An edge expression is user code too: it runs in the sandbox like a step.
            check = self.sandbox.run(
                StepRequest(
                    body=walker.expression_body(expression),
                    adaptor="common",
                    state=copy.deepcopy(state),
                    timeout_s=10,
                    egress_allow=allow,
                )
            )
            return check.status == "success" and (check.state or {}).get("data") is True

        def run_step(pending: walker.PendingStep, remaining: float):
            return self._run_step(run, plan, pending, secrets, allow, scrub, remaining)

        if run.starting_step_id is not None:
            first = [walker.PendingStep(str(run.starting_step_id), initial, run.dataclip_id)]
        else:
            first = walker.first_steps(
                plan.edges_from.get(str(run.starting_trigger_id), []),
                initial,
                expression_holds,
                run.dataclip_id,
            )
        outcome = walker.walk(
            first, plan.edges_from, run_step, expression_holds, float(self.settings.run_timeout_s)
        )
        error = outcome.worst_error or {}
        run_lifecycle.finish(
            run,
            RunState(outcome.status),
            final_dataclip_id=outcome.final_ref,
            error_type=error.get("type"),
            error_message=error.get("message"),
        )

    def _run_step(
        self,
        run,
        plan: RunPlan,
        pending: walker.PendingStep,
        secrets: dict,
        allow: list,
        scrub,
        remaining: float,
    ) -> tuple[StepResult, dict, uuid.UUID]:
        step = plan.steps[pending.step_id]
        step_run_id = run_lifecycle.begin_step(run, step, pending.input_ref)
        state_in = copy.deepcopy(pending.state)
        if step["credential_id"]:
            state_in["configuration"] = secrets.get(uuid.UUID(step["credential_id"]), {})
        result = self.sandbox.run(
            StepRequest(
                body=step["body"],
                adaptor=step["adaptor"],
                state=state_in,
                timeout_s=remaining,
                egress_allow=allow,
            )
        )
        state = result.state if result.state is not None else copy.deepcopy(pending.state)
        state.pop("configuration", None)
        if result.status != "success":
            errors = state.setdefault("errors", {})
            if isinstance(errors, dict):
                errors[pending.step_id] = result.error
        state = scrub(state)
        output_id = run_lifecycle.finish_step(
            run,
            step_run_id,
            step_id=pending.step_id,
            exit_reason=StepExitReason(result.status),
            output_state=state,
            error=scrub(result.error) if result.error else None,
            logs=[scrub(line.as_dict()) for line in result.logs],
        )
        return result, state, output_id


def _scrubber(secrets: dict):
    """Scrub every credential value used anywhere in the run, not only the step's own."""
    from workers.runtime.scrub import Scrubber

    configurations = [body for body in secrets.values() if isinstance(body, dict)]
    scrubber = Scrubber.from_configuration({"credentials": configurations})
    return scrubber.scrub_json
