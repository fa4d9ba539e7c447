"""Claiming runs: which run a worker may start now, and everything it needs to start it.

A claim also starts the run (available -> started; `claimed` is never seen for long enough to
be worth a commit of its own) and reads what the executor needs next: the project's egress
allowlist and run limits, and the input dataclip. On PostgreSQL a run without concurrency
caps is claimed by one statement; a capped one goes through `_claim_in_line`, which keeps
arrival order.

A run waiting for an automatic retry is `available` with an `available_at` in the future:
neither path claims it before then. Claiming it again keeps its first `started_at` (the run
began then; the wait is shown on its steps) and hands the executor its `resume` point.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, update

from app.extensions import db
from app.models import Dataclip, Project, Run, RunState, Workflow, WorkOrder, WorkOrderState
from app.models.base import utcnow
from app.services.runs import writes
from app.services.runs.dataclips import InputClip

OPEN_STATES = (RunState.CLAIMED, RunState.STARTED)


@dataclass(frozen=True)
class ClaimedRun:
    """What the executor needs about a run it now owns (and has started)."""

    id: uuid.UUID
    work_order_id: uuid.UUID
    project_id: uuid.UUID
    workflow_id: uuid.UUID
    snapshot_id: uuid.UUID
    starting_trigger_id: uuid.UUID | None
    starting_step_id: uuid.UUID | None
    dataclip_id: uuid.UUID | None
    # Hosts/CIDRs the project lets steps reach although private, read at claim time.
    egress_allow: tuple[str, ...] = ()
    # The input dataclip's row; None when there is none (or it was deleted).
    input_clip: InputClip | None = None
    # The workflow or project caps concurrency: when this run ends, a waiting one may start.
    capped: bool = False
    # Where a run that waited for an automatic retry continues (`workers.resume`), else None.
    resume: dict | None = None
    # When this worker claimed the run (time.monotonic()): /metrics' run duration counts from it.
    claimed_monotonic: float = field(default_factory=time.monotonic, compare=False)
    # The project's run limits as saved (None: the instance default; see
    # app.services.project_limits.effective), read by the same statement as the claim.
    run_timeout_s: int | None = None
    step_memory_mb: int | None = None
    discard_logs: bool = False
    # The project keeps no bodies (app.services.zero_persistence), read with the claim too.
    zero_persistence: bool = False


def claim(run_id: uuid.UUID, worker_name: str) -> ClaimedRun | None:
    """Claim and start this run, or the run that must go before it; None when nothing may
    start now. The run's work order becomes running; live views hear `run_started` with the
    executor's first write (`run_lifecycle`, `announce_start`)."""
    run = None
    if writes.on_postgresql():
        run = _claim_uncapped(run_id, worker_name)
    if run is None:
        # Capped, already taken, or not PostgreSQL: the general path sorts it out.
        run = _claim_in_line(run_id, worker_name)
    return run


# The run moves only if it is still available (so two workers can never both own it) and
# neither its workflow nor its project caps concurrency.
_CLAIM_UNCAPPED = """
WITH claimed AS (
    UPDATE runs SET state = 'started', claimed_at = :now,
        started_at = COALESCE(runs.started_at, :now), heartbeat_at = :now, worker_name = :worker
    FROM workflows, projects
    WHERE runs.id = :run_id AND runs.state = 'available'
        AND (runs.available_at IS NULL OR runs.available_at <= :now)
        AND workflows.id = runs.workflow_id AND workflows.concurrency IS NULL
        AND projects.id = runs.project_id AND projects.concurrency IS NULL
    RETURNING runs.id, runs.work_order_id, runs.project_id, runs.workflow_id,
        runs.snapshot_id, runs.starting_trigger_id, runs.starting_step_id, runs.dataclip_id,
        projects.egress_allowlist, runs.resume,
        projects.run_timeout_s, projects.step_memory_mb, projects.discard_logs,
        projects.zero_persistence
), work_order AS (
    UPDATE work_orders SET state = 'running', last_activity_at = :now
    FROM claimed WHERE work_orders.id = claimed.work_order_id
)
SELECT claimed.*, d.type,
    CASE WHEN pg_column_size(d.body) <= 65536 THEN d.body END,
    CASE WHEN pg_column_size(d.body) > 65536 THEN convert_to(d.body::text, 'UTF8') END,
    d.raw_body, d.request, d.wiped_at, d.not_stored, d.id IS NOT NULL
FROM claimed LEFT JOIN dataclips d ON d.id = claimed.dataclip_id
"""
# A body stored in over 64 KB (app.json_text.RAW_ABOVE_BYTES) is read as its text instead of
# being parsed: the worker passes it to the sandbox as it is.


def _claim_uncapped(run_id: uuid.UUID, worker_name: str) -> ClaimedRun | None:
    """One statement: claim, start, mark the work order running, read allowlist and input."""
    row = writes.fetch_one(
        _CLAIM_UNCAPPED, {"run_id": run_id, "worker": worker_name[:200], "now": utcnow()}
    )
    if row is None:
        return None
    *ids, allow, resume, timeout, memory, discard, zero, clip_type, body, text = row[:-5]
    raw_body, request, wiped_at, not_stored, clip_found = row[-5:]
    clip = (
        InputClip(clip_type, body, raw_body, request, wiped_at, text, bool(not_stored))
        if clip_found
        else None
    )
    return ClaimedRun(
        *ids,
        egress_allow=tuple(allow or ()),
        input_clip=clip,
        resume=resume,
        **_limits(timeout, memory, discard, zero),
    )


def _claim_in_line(run_id: uuid.UUID, worker_name: str) -> ClaimedRun | None:
    """Claim in one transaction, keeping concurrency caps and arrival order.

    Without limits the run is claimed by one conditional UPDATE, so two workers can never
    both own it. When its workflow or project caps concurrency, the workflow's (or
    project's) row is locked first, the open runs are counted, and the next available run
    in order (priority, then arrival) is claimed instead: that keeps arrival order when
    concurrency is 1.
    """
    row = db.session.execute(
        select(
            Run.workflow_id,
            Run.project_id,
            Workflow.concurrency,
            Project.concurrency,
            Project.egress_allowlist,
            Project.run_timeout_s,
            Project.step_memory_mb,
            Project.discard_logs,
            Project.zero_persistence,
        )
        .join(Workflow, Workflow.id == Run.workflow_id)
        .join(Project, Project.id == Run.project_id)
        .where(Run.id == run_id)
    ).first()
    if row is None:
        db.session.rollback()
        return None
    workflow_id, project_id, workflow_cap, project_cap, allow, *limits = row
    candidate = run_id
    if workflow_cap or project_cap:
        candidate = _next_in_line(workflow_id, project_id, workflow_cap, project_cap)
        if candidate is None:
            db.session.rollback()
            return None
    # The time is taken only now, after the open runs were counted: a run that starts
    # because the one before it finished must never seem to start before that finish.
    now = utcnow()
    claimed = db.session.execute(
        update(Run)
        .where(Run.id == candidate, Run.state == RunState.AVAILABLE, due(now))
        .values(
            state=RunState.STARTED,
            claimed_at=now,
            started_at=func.coalesce(Run.started_at, now),
            heartbeat_at=now,
            worker_name=worker_name[:200],
        )
        .returning(
            Run.id,
            Run.work_order_id,
            Run.project_id,
            Run.workflow_id,
            Run.snapshot_id,
            Run.starting_trigger_id,
            Run.starting_step_id,
            Run.dataclip_id,
            Run.resume,
        )
    ).first()
    if claimed is None:
        db.session.rollback()
        return None
    db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == claimed.work_order_id)
        .values(state=WorkOrderState.RUNNING, last_activity_at=now)
    )
    clip = _input_clip(claimed.dataclip_id)
    db.session.commit()
    *ids, resume = claimed
    return ClaimedRun(
        *ids,
        egress_allow=tuple(allow or ()),
        input_clip=clip,
        capped=bool(workflow_cap or project_cap),
        resume=resume,
        **_limits(*limits),
    )


def _limits(run_timeout_s, step_memory_mb, discard_logs, zero_persistence) -> dict:
    """The project's run limits (and whether it keeps bodies) as ClaimedRun fields."""
    return {
        "run_timeout_s": run_timeout_s,
        "step_memory_mb": step_memory_mb,
        "discard_logs": bool(discard_logs),
        "zero_persistence": bool(zero_persistence),
    }


def due(now):
    """The condition on runs that may be claimed at `now`: not waiting for a later retry."""
    return or_(Run.available_at.is_(None), Run.available_at <= now)


def _next_in_line(workflow_id, project_id, workflow_cap, project_cap) -> uuid.UUID | None:
    if project_cap:
        db.session.execute(select(Project.id).where(Project.id == project_id).with_for_update())
        if _open_runs(Run.project_id == project_id) >= project_cap:
            return None
    if workflow_cap:
        db.session.execute(select(Workflow.id).where(Workflow.id == workflow_id).with_for_update())
        if _open_runs(Run.workflow_id == workflow_id) >= workflow_cap:
            return None
    scope = Run.workflow_id == workflow_id if workflow_cap else Run.project_id == project_id
    return db.session.scalar(
        select(Run.id)
        .where(scope, Run.state == RunState.AVAILABLE, due(utcnow()))
        .order_by(Run.priority, Run.inserted_at, Run.id)
        .limit(1)
    )


def _open_runs(condition) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Run).where(condition, Run.state.in_(OPEN_STATES))
        )
        or 0
    )


def _input_clip(dataclip_id: uuid.UUID | None) -> InputClip | None:
    if dataclip_id is None:
        return None
    row = db.session.execute(
        select(
            Dataclip.type,
            Dataclip.body,
            Dataclip.raw_body,
            Dataclip.request,
            Dataclip.wiped_at,
            Dataclip.not_stored,
        ).where(Dataclip.id == dataclip_id)
    ).first()
    return InputClip(*row[:5], not_stored=bool(row[5])) if row else None


def waiting_runs_after(run: ClaimedRun, limit: int = 10) -> list[uuid.UUID]:
    """Available runs that a finished run may have been holding back (concurrency caps)."""
    return [run_id for run_id, _ in waiting_runs_in_lanes(run, limit)]


def waiting_runs_in_lanes(run: ClaimedRun, limit: int = 10) -> list[tuple[uuid.UUID, int]]:
    """(id, priority) of the runs `waiting_runs_after` names: each is queued again in its
    own lane, so a held-back manual run reaches the workers kept for the priority lane."""
    runs = [
        (run_id, priority)
        for run_id, priority in db.session.execute(
            select(Run.id, Run.priority)
            .join(Workflow, Workflow.id == Run.workflow_id)
            .join(Project, Project.id == Run.project_id)
            .where(
                Run.state == RunState.AVAILABLE,
                due(utcnow()),
                or_(
                    and_(Run.workflow_id == run.workflow_id, Workflow.concurrency.isnot(None)),
                    and_(Run.project_id == run.project_id, Project.concurrency.isnot(None)),
                ),
            )
            .order_by(Run.priority, Run.inserted_at)
            .limit(limit)
        )
    ]
    db.session.commit()
    return runs
