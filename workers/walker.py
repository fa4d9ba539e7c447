"""Walking a workflow graph: which steps run, in what order, with which state.

Shared by the executor (persisting every step) and `ferry execute` (local files). Steps run
one at a time; each followed edge gets its own copy of the state, so fan-out branches
cannot see each other's changes. A leaf is a step whose outcome no edge took further; the
worst leaf decides how the whole run ends.

A walk may also pause: when `wait_for` says a failed step is to be tried again later, the
walk stops at once and hands back that step and the queue behind it (`Walk.paused`), so the
caller can park the run and continue the walk another time (`workers.resume`).
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from workers.runtime.protocol import StepResult

# Worst first: a run takes the state of its worst leaf.
SEVERITY = ("killed", "exception", "crashed", "failed", "success")
FAILURE_EDGE_STATUSES = {"failed", "crashed"}


@dataclass
class PendingStep:
    """A step waiting to run, the state it receives, and where that state is stored."""

    step_id: str
    state: dict
    input_ref: object = None
    # Which attempt of the step this will be (above 1 only when an automatic retry is due).
    attempt: int = 1


@dataclass
class Leaf:
    """A step where the walk ended, with its outcome."""

    status: str
    output_ref: object
    error: dict | None


@dataclass
class Pause:
    """A walk stopped to retry a failed step later: the wait, then the steps still to run
    (the failed step first, for its next attempt)."""

    delay_s: float
    pending: list[PendingStep]


@dataclass
class Walk:
    """The outcome of walking a workflow."""

    leaves: list[Leaf] = field(default_factory=list)
    paused: Pause | None = None

    @property
    def status(self) -> str:
        """success, or the worst leaf's status."""
        if not self.leaves:
            return "success"
        return min(self.leaves, key=lambda leaf: SEVERITY.index(leaf.status)).status

    @property
    def worst_error(self) -> dict | None:
        """The error of the worst leaf, if any."""
        if not self.leaves:
            return None
        return min(self.leaves, key=lambda leaf: SEVERITY.index(leaf.status)).error

    @property
    def final_ref(self) -> object:
        """The output of the last leaf that produced one."""
        return next(
            (leaf.output_ref for leaf in reversed(self.leaves) if leaf.output_ref is not None), None
        )


# run_step(pending, remaining_s) -> (result, output state, output ref)
StepRunner = Callable[[PendingStep, float], tuple[StepResult, dict, object]]
# expression_holds(expression, state) -> bool
ExpressionCheck = Callable[[str, dict], bool]
# wait_for(pending) -> seconds before the step that just failed is tried again, or None
RetryWait = Callable[[PendingStep], float | None]


def edge_holds(edge: dict, status: str, state: dict, expression_holds: ExpressionCheck) -> bool:
    """Whether an edge is followed after a step ended with `status` and output `state`."""
    condition = edge["condition_type"]
    if condition == "always":
        return True
    if condition == "on_job_success":
        return status == "success"
    if condition == "on_job_failure":
        return status in FAILURE_EDGE_STATUSES
    return expression_holds(edge["condition_expression"], state)


def walk(
    first: list[PendingStep],
    edges_from: dict[str, list[dict]],
    run_step: StepRunner,
    expression_holds: ExpressionCheck,
    timeout_s: float,
    *,
    reached: list[Leaf] | None = None,
    wait_for: RetryWait | None = None,
    spent_s: float = 0.0,
) -> Walk:
    """Run steps from `first`, following edges, until none is left or time runs out.
    A resumed walk passes `reached` (the leaves of its earlier part) and `spent_s` (the
    time that part took, counted against `timeout_s`); `wait_for` is asked after a step
    fails whether to pause the walk for a later attempt."""
    deadline = time.monotonic() + timeout_s - spent_s
    pending = deque(first)
    outcome = Walk(leaves=list(reached or ()))
    while pending:
        step = pending.popleft()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcome.leaves.append(
                Leaf(
                    "killed",
                    None,
                    {"type": "RunTimeout", "message": f"The run took longer than {timeout_s:g} s."},
                )
            )
            break
        result, state, output_ref = run_step(step, remaining)
        if result.status != "success" and wait_for is not None:
            delay = wait_for(step)
            if delay is not None:
                # Neither its edges nor a leaf yet: the step's last attempt decides those.
                retry = PendingStep(step.step_id, step.state, step.input_ref, step.attempt + 1)
                outcome.paused = Pause(delay, [retry, *pending])
                break
        followed = False
        if result.status != "killed":
            for edge in edges_from.get(step.step_id, []):
                if edge_holds(edge, result.status, state, expression_holds):
                    pending.append(
                        PendingStep(edge["target_step_id"], copy.deepcopy(state), output_ref)
                    )
                    followed = True
        if not followed:
            outcome.leaves.append(Leaf(result.status, output_ref, result.error))
        if result.status == "killed":
            break  # a limit was hit: nothing more of this run may start
    return outcome


def first_steps(
    edges: list[dict], initial: dict, expression_holds: ExpressionCheck, input_ref: object = None
) -> list[PendingStep]:
    """The steps a trigger's edges lead to (expression edges checked against the input)."""
    return [
        PendingStep(edge["target_step_id"], copy.deepcopy(initial), input_ref)
        for edge in edges
        if edge["condition_type"] != "expression"
        or expression_holds(edge["condition_expression"], initial)
    ]


def expression_body(expression: str) -> str:
    """Job code that evaluates an edge expression over `state` in the sandbox."""
    return f"fn(lambda state: {{'data': bool({expression})}})"
