"""Reading runs back: one run or work order with its steps, logs, and filtered lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, tuple_

from app.extensions import db
from app.models import LogLine, Run, RunState, StepRun, WorkOrder
from app.services.errors import Invalid, NotFound
from app.services.history.filters import decode_cursor, encode_cursor

MAX_PAGE = 200
CURSOR_BROKEN = "The cursor is not one this API gave out: start again without it."


def get_run(run_id: uuid.UUID, project_id: uuid.UUID | None = None) -> Run:
    """The run, or NotFound (also when it belongs to another project)."""
    run = db.session.get(Run, run_id)
    if run is None or (project_id is not None and run.project_id != project_id):
        raise NotFound("There is no such run.")
    return run


def get_work_order(work_order_id: uuid.UUID, project_id: uuid.UUID | None = None) -> WorkOrder:
    """The work order, or NotFound."""
    work_order = db.session.get(WorkOrder, work_order_id)
    if work_order is None or (project_id is not None and work_order.project_id != project_id):
        raise NotFound("There is no such work order.")
    return work_order


def steps_of(run_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[StepRun]]:
    """Step runs per run, in the order they started (one query for all runs)."""
    grouped: dict[uuid.UUID, list[StepRun]] = {run_id: [] for run_id in run_ids}
    for step_run in db.session.scalars(
        select(StepRun).where(StepRun.run_id.in_(run_ids)).order_by(StepRun.started_at, StepRun.id)
    ):
        grouped[step_run.run_id].append(step_run)
    return grouped


def runs_of(work_order_id: uuid.UUID) -> list[Run]:
    """The work order's runs, oldest first."""
    return list(
        db.session.scalars(
            select(Run).where(Run.work_order_id == work_order_id).order_by(Run.inserted_at)
        )
    )


def logs_of(
    run_id: uuid.UUID, step_run_id: uuid.UUID | None = None, level: str | None = None
) -> list[LogLine]:
    """A run's log lines in time order, optionally of one step run and at a minimum level."""
    query = select(LogLine).where(LogLine.run_id == run_id)
    if step_run_id is not None:
        query = query.where(LogLine.step_run_id == step_run_id)
    if level is not None:
        levels = ["debug", "info", "warn", "error"]
        if level not in levels:
            raise Invalid("level", f"level must be one of {', '.join(levels)}.")
        query = query.where(LogLine.level.in_(levels[levels.index(level) :]))
    return list(db.session.scalars(query.order_by(LogLine.timestamp, LogLine.id)))


@dataclass
class RunPage:
    """One page of runs and the cursor of the next page (None at the end)."""

    runs: list[Run]
    next_cursor: str | None


def list_runs(
    project_id: uuid.UUID,
    *,
    state: str | None = None,
    workflow_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> RunPage:
    """Runs newest first, filtered, paged by keyset (inserted_at, id): stable while new runs
    arrive, and as fast on page 1,000 as on page 1."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Run).where(Run.project_id == project_id)
    if state is not None:
        try:
            query = query.where(Run.state == RunState(state))
        except ValueError:
            raise Invalid(
                "state",
                f"Unknown state {state!r}: use one of {', '.join(s.value for s in RunState)}.",
            ) from None
    if workflow_id is not None:
        query = query.where(Run.workflow_id == workflow_id)
    if cursor:
        # The history's cursors: the same (inserted_at, id) position, validated as strictly.
        inserted_at, run_id = decode_cursor(cursor, CURSOR_BROKEN)
        query = query.where(tuple_(Run.inserted_at, Run.id) < tuple_(inserted_at, run_id))
    rows = list(
        db.session.scalars(query.order_by(Run.inserted_at.desc(), Run.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].inserted_at, rows[-1].id) if more else None
    return RunPage(rows, next_cursor)
