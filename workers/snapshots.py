"""Snapshots as the executor reads them: immutable, so each process caches them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from app.extensions import db
from app.models import WorkflowSnapshot


@dataclass(frozen=True)
class RunPlan:
    """A snapshot arranged for walking: steps by id and outgoing edges per node."""

    steps: dict[str, dict]
    edges_from: dict[str, list[dict]] = field(default_factory=dict)
    # The workflow's retry policy, for steps without their own (normalised, or None).
    retry_policy: dict | None = None

    def retry_policy_for(self, step_id: str) -> dict | None:
        """The retry policy a step runs with: its own, else the workflow's, else None."""
        own = self.steps[step_id].get("retry_policy")
        return own if own is not None else self.retry_policy

    def credential_ids(self) -> set[uuid.UUID]:
        """Every credential any step of this version uses."""
        return {uuid.UUID(s["credential_id"]) for s in self.steps.values() if s["credential_id"]}

    def expressions_after(self, step_id: str) -> bool:
        """Whether an edge expression (user code) may be evaluated after this step."""
        return any(e["condition_type"] == "expression" for e in self.edges_from.get(step_id, ()))


def plan_for(snapshot_id: uuid.UUID) -> RunPlan:
    """The plan for a snapshot, loaded once per process (a snapshot never changes)."""
    return _cached_plan(snapshot_id)


@lru_cache(maxsize=512)
def _cached_plan(snapshot_id: uuid.UUID) -> RunPlan:
    definition = db.session.get(WorkflowSnapshot, snapshot_id).definition
    plan = RunPlan(
        steps={s["id"]: s for s in definition["steps"]},
        retry_policy=definition.get("retry_policy"),
    )
    for edge in definition["edges"]:
        if not edge["enabled"]:
            continue
        source = edge["source_trigger_id"] or edge["source_step_id"]
        plan.edges_from.setdefault(source, []).append(edge)
    return plan
