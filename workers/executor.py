"""Runs one run: claim it, walk the workflow's edges, run each step in the sandbox, persist.

Steps run one at a time; a fan-out queues each branch with its own copy of the state. The
run ends `success` unless a leaf step (one whose outcome no edge took further) failed,
crashed, was killed or hit an exception; the worst leaf outcome decides.
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass

from flask import current_app

from app.extensions import db
from app.models import Project, RunState, StepExitReason
from app.services import credentials, dataclips, run_lifecycle, run_queue
from app.services.errors import ServiceError
from workers.heartbeat import Heartbeat
from workers.runtime.protocol import StepRequest, StepResult
from workers.snapshots import RunPlan, plan_for

log = logging.getLogger("ferry.executor")

# Worst first: the run takes the state of its worst leaf.
SEVERITY = ("killed", "exception", "crashed", "failed", "success")
FAILURE_EDGE_STATUSES = {"failed", "crashed"}


@dataclass
class PendingStep:
    """A step waiting to run, with the state it receives."""

    step_id: str
    state: dict
    dataclip_id: uuid.UUID | None


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
        deadline = time.monotonic() + self.settings.run_timeout_s
        pending = deque(self._first_steps(run, plan, initial))
        leaves: list[tuple[str, uuid.UUID | None, dict | None]] = []
        while pending:
            step = pending.popleft()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                leaves.append(
                    (
                        "killed",
                        None,
                        {
                            "type": "RunTimeout",
                            "message": f"The run took longer than {self.settings.run_timeout_s} s.",
                        },
                    )
                )
                break
            result, output_id, state = self._run_step(run, plan, step, secrets, allow, remaining)
            followed = False
            if result.status != "killed":
                for edge in plan.edges_from.get(step.step_id, []):
                    if self._edge_holds(edge, result.status, state, allow):
                        pending.append(
                            PendingStep(edge["target_step_id"], copy.deepcopy(state), output_id)
                        )
                        followed = True
            if not followed:
                leaves.append((result.status, output_id, result.error))
            if result.status == "killed":
                break  # a limit was hit: nothing more of this run may start
        self._finish(run, leaves)

    def _first_steps(self, run, plan: RunPlan, initial: dict) -> list[PendingStep]:
        if run.starting_step_id is not None:
            return [PendingStep(str(run.starting_step_id), initial, run.dataclip_id)]
        steps = []
        for edge in plan.edges_from.get(str(run.starting_trigger_id), []):
            if edge["condition_type"] != "expression" or self._edge_holds(
                edge, "success", initial, []
            ):
                steps.append(
                    PendingStep(edge["target_step_id"], copy.deepcopy(initial), run.dataclip_id)
                )
        return steps

    def _run_step(
        self, run, plan: RunPlan, pending: PendingStep, secrets: dict, allow: list, remaining: float
    ) -> tuple[StepResult, uuid.UUID | None, dict]:
        step = plan.steps[pending.step_id]
        step_run_id = run_lifecycle.begin_step(run, step, pending.dataclip_id)
        state_in = copy.deepcopy(pending.state)
        if step["credential_id"]:
            state_in["configuration"] = secrets.get(uuid.UUID(step["credential_id"]), {})
        result = self.sandbox.run(
            StepRequest(
                body=step["body"],
                adaptor=step["adaptor"],
                state=state_in,
                timeout_s=min(remaining, float(self.settings.run_timeout_s)),
                egress_allow=allow,
            )
        )
        scrub = _scrubber(secrets)
        state = result.state if result.state is not None else copy.deepcopy(pending.state)
        state.pop("configuration", None)
        if result.status != "success":
            errors = state.setdefault("errors", {})
            if isinstance(errors, dict):
                errors[pending.step_id] = result.error
        state = scrub(state)
        logs = [scrub(line.as_dict()) for line in result.logs]
        output_id = run_lifecycle.finish_step(
            run,
            step_run_id,
            step_id=pending.step_id,
            exit_reason=StepExitReason(result.status),
            output_state=state,
            error=scrub(result.error) if result.error else None,
            logs=logs,
        )
        return result, output_id, state

    def _edge_holds(self, edge: dict, status: str, state: dict, allow: list) -> bool:
        condition = edge["condition_type"]
        if condition == "always":
            return True
        if condition == "on_job_success":
            return status == "success"
        if condition == "on_job_failure":
            return status in FAILURE_EDGE_STATUSES
        # An expression is user code too: it is evaluated in the sandbox like a step.
        check = self.sandbox.run(
            StepRequest(
                body=f"fn(lambda state: {{'data': bool({edge['condition_expression']})}})",
                adaptor="common",
                state=copy.deepcopy(state),
                timeout_s=10,
                egress_allow=allow,
            )
        )
        return check.status == "success" and (check.state or {}).get("data") is True

    def _finish(self, run, leaves: list) -> None:
        if not leaves:
            run_lifecycle.finish(run, RunState.SUCCESS)
            return
        worst = min(leaves, key=lambda leaf: SEVERITY.index(leaf[0]))
        final_id = next((leaf[1] for leaf in reversed(leaves) if leaf[1] is not None), None)
        error = worst[2] or {}
        run_lifecycle.finish(
            run,
            RunState(worst[0]),
            final_dataclip_id=final_id,
            error_type=error.get("type"),
            error_message=error.get("message"),
        )


def _scrubber(secrets: dict):
    """Scrub every credential value used anywhere in the run, not only the step's own."""
    from workers.runtime.scrub import Scrubber

    configurations = [body for body in secrets.values() if isinstance(body, dict)]
    scrubber = Scrubber.from_configuration({"credentials": configurations})
    return scrubber.scrub_json
