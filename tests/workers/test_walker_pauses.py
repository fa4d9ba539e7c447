"""The walker's pause for an automatic retry (workers.walker): it stops at the failed step and
hands back that step (its next attempt) and the queue behind it; a resumed walk counts the
time already spent against the run's limit, never the wait."""

from __future__ import annotations

from workers import walker
from workers.runtime.protocol import StepResult

ALWAYS = {"condition_type": "always"}


def edge(target: str) -> dict:
    return {**ALWAYS, "target_step_id": target}


def result(status: str) -> StepResult:
    error = None if status == "success" else {"type": "JobError", "message": "503"}
    return StepResult(status=status, state={}, error=error, logs=[], duration_ms=1.0)


def runner(statuses: dict[str, str], ran: list[str]):
    def run_step(pending: walker.PendingStep, remaining: float):
        ran.append(f"{pending.step_id}#{pending.attempt}")
        return result(statuses.get(pending.step_id, "success")), {}, None

    return run_step


def never(expression, state):
    return False


def test_a_failed_step_pauses_the_walk_with_its_next_attempt_first():
    ran: list[str] = []
    edges = {"a": [edge("c")]}
    first = [walker.PendingStep("a", {}), walker.PendingStep("b", {})]
    outcome = walker.walk(
        first, edges, runner({"a": "failed"}, ran), never, 60, wait_for=lambda step: 2.5
    )
    assert ran == ["a#1"], "nothing else runs once the walk pauses"
    assert outcome.paused.delay_s == 2.5
    assert [(p.step_id, p.attempt) for p in outcome.paused.pending] == [("a", 2), ("b", 1)]
    assert outcome.leaves == [], "the failed attempt is neither a leaf nor followed yet"


def test_no_wait_means_the_failure_is_handled_as_always():
    ran: list[str] = []
    edges = {"a": [{"condition_type": "on_job_failure", "target_step_id": "handler"}]}
    outcome = walker.walk(
        [walker.PendingStep("a", {}, attempt=3)],
        edges,
        runner({"a": "failed"}, ran),
        never,
        60,
        wait_for=lambda step: None,
    )
    assert ran == ["a#3", "handler#1"] and outcome.paused is None
    assert outcome.status == "success"


def test_a_resumed_walk_keeps_earlier_leaves_and_counts_only_time_spent_running():
    ran: list[str] = []
    earlier = [walker.Leaf("failed", None, {"type": "JobError", "message": "earlier branch"})]
    outcome = walker.walk(
        [walker.PendingStep("a", {}, attempt=2)],
        {},
        runner({}, ran),
        never,
        60,
        reached=earlier,
        spent_s=30,
    )
    assert ran == ["a#2"]
    assert outcome.status == "failed", "a branch that failed before the wait still counts"

    used_up = walker.walk(
        [walker.PendingStep("a", {}, attempt=2)], {}, runner({}, ran), never, 60, spent_s=60
    )
    assert used_up.status == "killed" and used_up.worst_error["type"] == "RunTimeout"
    assert ran == ["a#2"], "no time left: the step does not start"
