"""The project history: work orders newest first, filtered, searched and paged by keyset.

Paging uses the position of the last row shown, (inserted_at, id), never OFFSET: page 1,000
costs what page 1 costs, and rows arriving meanwhile do not shift the pages. Counts stop at
a cap, so a huge history never costs a full COUNT(*).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, tuple_

from app.extensions import db
from app.models import Run, RunState, StepRun, Trigger, Workflow, WorkOrder
from app.services.errors import NotFound
from app.services.history.filters import (
    HistoryFilter,
    day_end,
    day_start,
    decode_cursor,
    encode_cursor,
)
from app.services.history.run_page import run_scrubber
from app.services.history.search import search_condition
from app.services.runs import stored_errors
from app.services.runs.plain_errors import PlainError

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_CAP = 1000


@dataclass(frozen=True)
class HistoryRow:
    """One work order as the history list shows it."""

    work_order: WorkOrder
    workflow_name: str
    trigger_type: str | None  # None: started by hand
    trigger_key: str | None
    run_count: int
    latest_run_id: uuid.UUID | None
    # The latest run waits for an automatic retry (the list says "waiting to retry").
    waiting: bool = False

    @property
    def id(self) -> uuid.UUID:
        """The work order's id."""
        return self.work_order.id

    @property
    def cursor(self) -> str:
        """The list position of this row."""
        return encode_cursor(self.work_order.inserted_at, self.work_order.id)


@dataclass(frozen=True)
class HistoryPage:
    """One page of rows and the cursor of the next page (None at the end)."""

    rows: list[HistoryRow]
    next_cursor: str | None


@dataclass(frozen=True)
class Count:
    """How many rows match, exactly up to a cap, else 'more than cap'."""

    value: int
    more: bool


def list_page(
    project_id: uuid.UUID,
    filters: HistoryFilter,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> HistoryPage:
    """Rows matching `filters`, newest first, after `cursor`."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _matching(project_id, filters)
    if cursor:
        moment, row_id = decode_cursor(cursor)
        # The plain bound lets the planner use (project_id, inserted_at) indexes directly.
        query = query.where(
            WorkOrder.inserted_at <= moment,
            tuple_(WorkOrder.inserted_at, WorkOrder.id) < tuple_(moment, row_id),
        )
    orders = list(
        db.session.scalars(
            query.order_by(WorkOrder.inserted_at.desc(), WorkOrder.id.desc()).limit(limit + 1)
        )
    )
    more = len(orders) > limit
    rows = _rows(orders[:limit])
    return HistoryPage(rows, rows[-1].cursor if more and rows else None)


@dataclass(frozen=True)
class PageView:
    """What the full history page shows: a page of rows and the workflows to filter by."""

    page: HistoryPage
    workflows: list[tuple[uuid.UUID, str]]

    @property
    def mark(self) -> str | None:
        """The position of the newest row drawn; rows after it are new to the viewer."""
        return self.page.rows[0].cursor if self.page.rows else None


def page_view(
    project_id: uuid.UUID, filters: HistoryFilter, *, cursor: str | None = None
) -> PageView:
    """The first (or `cursor`) page of the history with the project's workflows."""
    page = list_page(project_id, filters, cursor=cursor)
    workflows = db.session.execute(
        select(Workflow.id, Workflow.name)
        .where(Workflow.project_id == project_id, Workflow.deleted_at.is_(None))
        .order_by(Workflow.name)
    ).all()
    return PageView(page, [(row.id, row.name) for row in workflows])


def newer_rows(
    project_id: uuid.UUID, filters: HistoryFilter, mark: str | None, limit: int = PAGE_SIZE
) -> tuple[list[HistoryRow], bool]:
    """Rows matching `filters` that arrived after the row at `mark` (all rows when None),
    newest first, and whether more than `limit` did."""
    query = _matching(project_id, filters)
    if mark:
        moment, row_id = decode_cursor(mark)
        query = query.where(
            WorkOrder.inserted_at >= moment,
            tuple_(WorkOrder.inserted_at, WorkOrder.id) > tuple_(moment, row_id),
        )
    orders = list(
        db.session.scalars(
            query.order_by(WorkOrder.inserted_at.desc(), WorkOrder.id.desc()).limit(limit + 1)
        )
    )
    return _rows(orders[:limit]), len(orders) > limit


def count_matching(project_id: uuid.UUID, filters: HistoryFilter, cap: int | None = None) -> Count:
    """How many work orders match, counting no further than `cap` (COUNT_CAP) + 1 rows."""
    cap = COUNT_CAP if cap is None else cap
    capped = _matching(project_id, filters).with_only_columns(WorkOrder.id).limit(cap + 1)
    value = db.session.scalar(select(func.count()).select_from(capped.subquery())) or 0
    return Count(min(value, cap), value > cap)


def matching_query(project_id: uuid.UUID, filters: HistoryFilter, limit: int) -> Select:
    """A query of the ids of the newest `limit` work orders matching `filters` (to use as a
    subquery, so any number of ids stays inside the database)."""
    return (
        _matching(project_id, filters)
        .with_only_columns(WorkOrder.id)
        .order_by(WorkOrder.inserted_at.desc(), WorkOrder.id.desc())
        .limit(limit)
    )


def get_row(project_id: uuid.UUID, work_order_id: uuid.UUID) -> HistoryRow:
    """One work order as a list row; NotFound outside the project."""
    order = db.session.get(WorkOrder, work_order_id)
    if order is None or order.project_id != project_id:
        raise NotFound("There is no such work order in this project.")
    return _rows([order])[0]


@dataclass(frozen=True)
class WorkOrderDetail:
    """A work order's runs, oldest first, each with its step runs."""

    row: HistoryRow
    runs: list[tuple[Run, list[StepRun]]]
    errors: dict[uuid.UUID, PlainError]  # run or step run id -> its error, masked, in words


def work_order_detail(project_id: uuid.UUID, work_order_id: uuid.UUID) -> WorkOrderDetail:
    """The runs and steps shown when a row is expanded."""
    row = get_row(project_id, work_order_id)
    runs = list(
        db.session.scalars(
            select(Run).where(Run.work_order_id == work_order_id).order_by(Run.inserted_at, Run.id)
        )
    )
    steps: dict[uuid.UUID, list[StepRun]] = {run.id: [] for run in runs}
    if runs:
        for step_run in db.session.scalars(
            select(StepRun)
            .where(StepRun.run_id.in_(list(steps)))
            .order_by(StepRun.started_at, StepRun.id)
        ):
            steps[step_run.run_id].append(step_run)
    return WorkOrderDetail(
        row, [(run, steps[run.id]) for run in runs], _errors(project_id, runs, steps)
    )


def _errors(
    project_id: uuid.UUID, runs: list[Run], steps: dict[uuid.UUID, list[StepRun]]
) -> dict[uuid.UUID, PlainError]:
    failed = any(run.error_type or run.error_message for run in runs) or any(
        s.error_type or s.error_message for ss in steps.values() for s in ss
    )
    if not failed:
        return {}  # most rows: no credential needs decrypting
    scrub = run_scrubber(project_id, {run.snapshot_id for run in runs})
    explained: dict[uuid.UUID, PlainError] = {}
    for run in runs:
        run_plain, step_plains = stored_errors.explain_all(run, steps[run.id], scrub)
        explained.update(step_plains)
        if run_plain is not None:
            explained[run.id] = run_plain
    return explained


def newest_arrival(project_id: uuid.UUID) -> datetime | None:
    """When the project's newest work order arrived (one index lookup)."""
    return db.session.scalar(
        select(WorkOrder.inserted_at)
        .where(WorkOrder.project_id == project_id)
        .order_by(WorkOrder.inserted_at.desc())
        .limit(1)
    )


def _matching(project_id: uuid.UUID, filters: HistoryFilter) -> Select:
    query = select(WorkOrder).where(WorkOrder.project_id == project_id)
    if filters.states:
        query = query.where(WorkOrder.state.in_(filters.states))
    if filters.workflow_id:
        query = query.where(WorkOrder.workflow_id == filters.workflow_id)
    if filters.received_from:
        query = query.where(WorkOrder.inserted_at >= day_start(filters.received_from))
    if filters.received_to:
        query = query.where(WorkOrder.inserted_at < day_end(filters.received_to))
    if filters.received_since:
        query = query.where(WorkOrder.inserted_at >= filters.received_since)
    if filters.activity_from:
        query = query.where(WorkOrder.last_activity_at >= day_start(filters.activity_from))
    if filters.activity_to:
        query = query.where(WorkOrder.last_activity_at < day_end(filters.activity_to))
    if filters.text:
        query = query.where(search_condition(project_id, filters))
    return query


def _rows(orders: list[WorkOrder]) -> list[HistoryRow]:
    """Decorate work orders with workflow, trigger and run facts in three small queries."""
    if not orders:
        return []
    workflow_ids = {o.workflow_id for o in orders}
    names = dict(
        db.session.execute(
            select(Workflow.id, Workflow.name).where(Workflow.id.in_(workflow_ids))
        ).all()
    )
    trigger_ids = {o.trigger_id for o in orders if o.trigger_id}
    triggers = (
        {
            row.id: (row.type.value, row.key)
            for row in db.session.execute(
                select(Trigger.id, Trigger.type, Trigger.key).where(Trigger.id.in_(trigger_ids))
            )
        }
        if trigger_ids
        else {}
    )
    run_facts: dict[uuid.UUID, tuple[int, uuid.UUID, bool]] = {}
    for work_order_id, run_id, state, resumable in db.session.execute(
        select(Run.work_order_id, Run.id, Run.state, Run.resume.isnot(None))
        .where(Run.work_order_id.in_([o.id for o in orders]))
        .order_by(Run.inserted_at, Run.id)
    ):
        count = run_facts.get(work_order_id, (0, run_id, False))[0]
        waiting = state is RunState.AVAILABLE and bool(resumable)
        run_facts[work_order_id] = (count + 1, run_id, waiting)  # the last seen is the latest
    return [
        HistoryRow(
            work_order=order,
            workflow_name=names.get(order.workflow_id, "(deleted workflow)"),
            trigger_type=triggers.get(order.trigger_id, (None, None))[0],
            trigger_key=triggers.get(order.trigger_id, (None, None))[1],
            run_count=run_facts.get(order.id, (0, None, False))[0],
            latest_run_id=run_facts.get(order.id, (0, None, False))[1],
            waiting=run_facts.get(order.id, (0, None, False))[2],
        )
        for order in orders
    ]
