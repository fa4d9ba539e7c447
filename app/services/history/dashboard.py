"""The project dashboard: work orders, runs, success rate and failures over a period, runs per
hour or day by state, and each workflow's last failure.

Every figure that links to the history counts what that list shows: work orders received
since the period's start (`history_filter` builds the very filter of each link). Runs, which
the list groups into work orders, are given in words beside them ("3 failed runs, 1 retried
since")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Run, RunState, Workflow, WorkOrder, WorkOrderState
from app.services.errors import Invalid
from app.services.history.filters import HistoryFilter

PERIODS = {"24h": ("hour", 24), "7d": ("day", 7), "30d": ("day", 30)}
PERIOD_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}
FAILURES = (
    RunState.FAILED,
    RunState.CRASHED,
    RunState.KILLED,
    RunState.EXCEPTION,
    RunState.LOST,
)
FAILED_WORK_ORDER_STATES = tuple(WorkOrderState(state.value) for state in FAILURES)


@dataclass(frozen=True)
class Bucket:
    """Runs that arrived in one hour or day, by state."""

    start: datetime
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """All runs of the bucket."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class WorkflowHealth:
    """One workflow over the period, and its last failure ever."""

    id: uuid.UUID
    name: str
    runs: int
    failures: int
    last_failure_at: datetime | None
    work_orders: int = 0  # received in the period: the rows its "History" link shows
    failed_work_orders: int = 0  # of those, in a failure state: its failures link's rows


@dataclass(frozen=True)
class Dashboard:
    """The figures of one project over one period."""

    period: str
    unit: str  # "hour" or "day"
    since: datetime
    work_orders: int
    runs_by_state: dict[str, int]
    buckets: list[Bucket]
    workflows: list[WorkflowHealth] = field(default_factory=list)
    failed_work_orders: int = 0  # received in the period, in a failure state
    retried_failures: int = 0  # failed runs of the period that were followed by another run

    @property
    def runs(self) -> int:
        """Runs that arrived in the period."""
        return sum(self.runs_by_state.values())

    @property
    def failures(self) -> int:
        """Runs of the period that ended in a failure state."""
        return sum(self.runs_by_state.get(state.value, 0) for state in FAILURES)

    @property
    def success_rate(self) -> float | None:
        """Share of finished runs that succeeded (None before any finished)."""
        finished = sum(n for s, n in self.runs_by_state.items() if RunState(s).is_final)
        finished -= self.runs_by_state.get(RunState.CANCELLED.value, 0)
        return self.runs_by_state.get("success", 0) / finished if finished else None

    @property
    def failing_workflows(self) -> list[WorkflowHealth]:
        """Workflows with failed work orders in the period, most first."""
        return sorted(
            (w for w in self.workflows if w.failed_work_orders),
            key=lambda w: -w.failed_work_orders,
        )

    def history_filter(
        self, *, failed: bool = False, workflow_id: uuid.UUID | None = None
    ) -> HistoryFilter:
        """The history filter of a dashboard link: work orders received in the period (in a
        failure state when `failed`), of one workflow when given."""
        states = tuple(s.value for s in FAILED_WORK_ORDER_STATES) if failed else ()
        return HistoryFilter(states=states, workflow_id=workflow_id, received_since=self.since)


def dashboard(project_id: uuid.UUID, period: str, now: datetime | None = None) -> Dashboard:
    """The dashboard for `period` (24h, 7d or 30d) ending now."""
    if period not in PERIODS:
        raise Invalid("period", "Choose 24h, 7d or 30d.")
    unit, size = PERIODS[period]
    now = now or datetime.now(UTC)
    current = now.replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        current = current.replace(hour=0)
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    since = current - step * (size - 1)
    in_period = (Run.project_id == project_id, Run.inserted_at >= since)
    work_orders = db.session.scalar(
        select(func.count())
        .select_from(WorkOrder)
        .where(WorkOrder.project_id == project_id, WorkOrder.inserted_at >= since)
    )
    per_workflow: dict[uuid.UUID, dict[str, int]] = {}
    runs_by_state: dict[str, int] = {}
    for workflow_id, state, count in db.session.execute(
        select(Run.workflow_id, Run.state, func.count())
        .where(*in_period)
        .group_by(Run.workflow_id, Run.state)
    ):
        per_workflow.setdefault(workflow_id, {})[state.value] = count
        runs_by_state[state.value] = runs_by_state.get(state.value, 0) + count
    bucket = _bucket(unit)
    counted: dict[datetime, dict[str, int]] = {}
    for start, state, count in db.session.execute(
        select(bucket, Run.state, func.count()).where(*in_period).group_by(bucket, Run.state)
    ):
        counted.setdefault(_as_utc(start), {})[state.value] = count
    buckets = [Bucket(since + step * i, counted.get(since + step * i, {})) for i in range(size)]
    orders = _work_orders(project_id, since)
    return Dashboard(
        period=period,
        unit=unit,
        since=since,
        work_orders=work_orders or 0,
        runs_by_state=runs_by_state,
        buckets=buckets,
        workflows=_workflows(project_id, per_workflow, orders),
        failed_work_orders=sum(failed for _, failed in orders.values()),
        retried_failures=_retried_failures(project_id, since),
    )


def _work_orders(project_id: uuid.UUID, since: datetime) -> dict[uuid.UUID, tuple[int, int]]:
    """Per workflow: work orders received since `since`, and those in a failure state (the
    history list's own conditions, so each link opens as many rows as its figure says)."""
    failed = WorkOrder.state.in_(FAILED_WORK_ORDER_STATES)
    rows = db.session.execute(
        select(WorkOrder.workflow_id, func.count(), func.count().filter(failed))
        .where(WorkOrder.project_id == project_id, WorkOrder.inserted_at >= since)
        .group_by(WorkOrder.workflow_id)
    )
    return {workflow_id: (total, failures) for workflow_id, total, failures in rows}


def _retried_failures(project_id: uuid.UUID, since: datetime) -> int:
    """Failed runs of the period after which their work order was run again."""
    later = aliased(Run)
    retried = (
        select(later.id)
        .where(later.work_order_id == Run.work_order_id, later.inserted_at > Run.inserted_at)
        .exists()
    )
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Run)
            .where(
                Run.project_id == project_id,
                Run.inserted_at >= since,
                Run.state.in_(FAILURES),
                retried,
            )
        )
        or 0
    )


def _workflows(
    project_id: uuid.UUID, per_workflow: dict, orders: dict[uuid.UUID, tuple[int, int]]
) -> list[WorkflowHealth]:
    last_failure = (
        select(func.max(WorkOrder.inserted_at))
        .where(
            WorkOrder.workflow_id == Workflow.id,
            WorkOrder.state.in_(FAILED_WORK_ORDER_STATES),
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Workflow.id, Workflow.name, last_failure)
        .where(Workflow.project_id == project_id, Workflow.deleted_at.is_(None))
        .order_by(Workflow.name)
    ).all()
    return [
        WorkflowHealth(
            id=workflow_id,
            name=name,
            runs=sum(per_workflow.get(workflow_id, {}).values()),
            failures=sum(per_workflow.get(workflow_id, {}).get(s.value, 0) for s in FAILURES),
            last_failure_at=_as_utc(failed_at) if failed_at else None,
            work_orders=orders.get(workflow_id, (0, 0))[0],
            failed_work_orders=orders.get(workflow_id, (0, 0))[1],
        )
        for workflow_id, name, failed_at in rows
    ]


def _bucket(unit: str):
    """The start of a run's hour or day, in UTC, as the database computes it."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, func.timezone("UTC", Run.inserted_at))
    pattern = "%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00"
    return func.strftime(pattern, Run.inserted_at)


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
