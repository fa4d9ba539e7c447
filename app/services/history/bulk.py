"""Bulk actions from the history page: rerun or cancel chosen work orders, or every work order
matching a filter, after a confirmation that says how many will be affected.

Reruns go through `bulk_reruns` (a row with progress, worked through by a background job);
cancelling pending runs is one set-based UPDATE, with the same rules as cancelling a single run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, distinct, func, select, update

from app.extensions import db
from app.models import (
    BulkRerun,
    BulkRerunState,
    Run,
    RunState,
    Step,
    Workflow,
    WorkOrder,
    WorkOrderState,
)
from app.models.base import utcnow
from app.services.errors import Invalid
from app.services.history import listing
from app.services.history.filters import HistoryFilter, QueryArgs, parse_filter
from app.services.runs import bulk_reruns, events

MAX_WORK_ORDERS = bulk_reruns.MAX_WORK_ORDERS
MAX_CHOSEN = 1000  # rows ticked by hand: a few pages at most
# Work orders per UPDATE when a cancel marks them: PostgreSQL allows 65,535 parameters.
CHUNK = 10_000
MAX_EVENTS = 1000  # live-view hints after a big cancel; beyond that a reload shows the truth
ACTIONS = ("rerun", "cancel")


# More would push the table out of sight; older ones are found by their link.
MAX_SHOWN_UNFINISHED = 5


@dataclass(frozen=True)
class Selection:
    """Work orders chosen by hand, or every one matching a filter (newest first, capped)."""

    work_order_ids: tuple[uuid.UUID, ...] | None = None
    filters: HistoryFilter | None = None


@dataclass(frozen=True)
class Preview:
    """What a bulk action would touch, for its confirmation."""

    action: str
    work_orders: int
    over_cap: bool  # more matched than one bulk action may take; the newest are taken
    pending_runs: int
    steps: list[tuple[str, str]]  # (key, name) to rerun from


@dataclass(frozen=True)
class Progress:
    """A bulk rerun as its progress bar shows it, read from its row."""

    id: uuid.UUID
    total: int
    done: int
    created: int
    skipped: int
    state: str  # queued | running | finished | failed
    error: str | None
    updated_at: datetime
    stalled: bool  # open, but silent for a while: its worker may be gone

    @property
    def finished(self) -> bool:
        """True once the job went through every work order."""
        return self.state == "finished"

    @property
    def failed(self) -> bool:
        """True when the job stopped on an error."""
        return self.state == "failed"

    @property
    def percent(self) -> int:
        """How much is done, 0..100."""
        return round(100 * self.done / self.total) if self.total else 100


def selection_from_form(form: QueryArgs) -> Selection:
    """The selection a bulk form posted: `all=1` with filter fields, or `work_order_ids`."""
    if form.get("all") == "1":
        return Selection(filters=parse_filter(form))
    raw = list(dict.fromkeys(form.getlist("work_order_ids")))
    if not raw:
        raise Invalid(
            "work_order_ids", "Select work orders first, or choose all matching this filter."
        )
    if len(raw) > MAX_CHOSEN:
        raise Invalid("work_order_ids", f"Select at most {MAX_CHOSEN} work orders by hand.")
    try:
        return Selection(work_order_ids=tuple(uuid.UUID(value) for value in raw))
    except ValueError:
        raise Invalid("work_order_ids", "A selected work order id is not valid.") from None


def preview(project_id: uuid.UUID, selection: Selection, action: str) -> Preview:
    """Count what `action` would affect, without changing anything."""
    if action not in ACTIONS:
        raise Invalid("action", "Choose rerun or cancel.")
    chosen = _chosen(project_id, selection)
    if selection.filters is not None:
        total = listing.count_matching(project_id, selection.filters, cap=MAX_WORK_ORDERS)
        work_orders, over_cap = total.value, total.more
    else:
        work_orders = db.session.scalar(select(func.count()).select_from(chosen.subquery())) or 0
        over_cap = False
    pending = 0
    if action == "cancel":
        pending = (
            db.session.scalar(
                select(func.count(Run.id)).where(
                    Run.project_id == project_id,
                    Run.state == RunState.AVAILABLE,
                    Run.work_order_id.in_(chosen),
                )
            )
            or 0
        )
    steps = step_choices(project_id, selection) if action == "rerun" else []
    return Preview(action, work_orders, over_cap, pending, steps)


def rerun(
    project_id: uuid.UUID, actor_id: uuid.UUID | None, selection: Selection, step_key: str | None
) -> uuid.UUID:
    """Queue reruns of the selected work orders, from the start or from the step `step_key`;
    returns the bulk rerun's id."""
    if step_key is not None and step_key not in {k for k, _ in step_choices(project_id, selection)}:
        raise Invalid("step", "None of the selected work orders' workflows has that step.")
    chosen = _chosen(project_id, selection)
    if db.session.scalar(select(chosen.exists())) is not True:
        raise Invalid("work_order_ids", "No work orders match, so nothing was rerun.")
    bulk = bulk_reruns.create(project_id, actor_id=actor_id, chosen=chosen, step_key=step_key)
    return bulk.id


def cancel_pending(project_id: uuid.UUID, selection: Selection) -> int:
    """Cancel the selected work orders' runs still waiting for a worker; returns how many."""
    now = utcnow()
    cancelled = db.session.execute(
        update(Run)
        .where(
            Run.project_id == project_id,
            Run.state == RunState.AVAILABLE,
            Run.work_order_id.in_(_chosen(project_id, selection)),
        )
        .values(state=RunState.CANCELLED, finished_at=now)
        .returning(Run.id, Run.work_order_id)
    ).all()
    work_order_ids = list({row.work_order_id for row in cancelled})
    for start in range(0, len(work_order_ids), CHUNK):
        db.session.execute(
            update(WorkOrder)
            .where(WorkOrder.id.in_(work_order_ids[start : start + CHUNK]))
            .values(state=WorkOrderState.CANCELLED, last_activity_at=now)
        )
    db.session.commit()
    for run_id, work_order_id in cancelled[:MAX_EVENTS]:
        events.publish(
            project_id, run_id, "run_finished", state="cancelled", work_order_id=work_order_id
        )
    return len(cancelled)


def progress(project_id: uuid.UUID, bulk_rerun_id: uuid.UUID) -> Progress:
    """How far a bulk rerun of the project has got; NotFound for another project's."""
    return _progress_of(bulk_reruns.get(project_id, bulk_rerun_id))


def unfinished(project_id: uuid.UUID) -> list[Progress]:
    """The project's bulk reruns still under way, and those that failed in the last day, so
    that reloading the history page shows them again (oldest first, a handful at most)."""
    rows = db.session.scalars(
        select(BulkRerun)
        .where(
            BulkRerun.project_id == project_id,
            (BulkRerun.state.in_((BulkRerunState.QUEUED, BulkRerunState.RUNNING)))
            | (
                (BulkRerun.state == BulkRerunState.FAILED)
                & (BulkRerun.updated_at >= utcnow() - timedelta(days=1))
            ),
        )
        .order_by(BulkRerun.inserted_at)
        .limit(MAX_SHOWN_UNFINISHED)
    )
    return [_progress_of(bulk) for bulk in rows]


def _progress_of(bulk: BulkRerun) -> Progress:
    return Progress(
        id=bulk.id,
        total=bulk.total,
        done=bulk.done,
        created=bulk.created,
        skipped=bulk.skipped,
        state=bulk.state.value,
        error=bulk.error,
        updated_at=bulk.updated_at,
        stalled=bulk_reruns.is_stalled(bulk),
    )


def resume(project_id: uuid.UUID, bulk_rerun_id: uuid.UUID) -> Progress:
    """Queue a failed or stalled bulk rerun again for the work orders it has left, then
    return its progress (unchanged when it was moving or finished)."""
    bulk_reruns.resume(project_id, bulk_rerun_id)
    return progress(project_id, bulk_rerun_id)


def step_choices(project_id: uuid.UUID, selection: Selection) -> list[tuple[str, str]]:
    """Steps a rerun may start from: (key, name) of the steps of the workflows involved."""
    workflow_ids = select(distinct(WorkOrder.workflow_id)).where(
        WorkOrder.id.in_(_chosen(project_id, selection))
    )
    if selection.filters is not None and selection.filters.workflow_id:
        workflow_ids = select(Workflow.id).where(Workflow.id == selection.filters.workflow_id)
    rows = db.session.execute(
        select(Step.key, func.min(Step.name))
        .join(Workflow, Workflow.id == Step.workflow_id)
        .where(Workflow.project_id == project_id, Step.workflow_id.in_(workflow_ids))
        .group_by(Step.key)
        .order_by(Step.key)
    ).all()
    return [(key, name) for key, name in rows]


def _chosen(project_id: uuid.UUID, selection: Selection) -> Select:
    """A query of the selected work order ids, scoped to the project."""
    if selection.filters is not None:
        return listing.matching_query(project_id, selection.filters, limit=MAX_WORK_ORDERS)
    return select(WorkOrder.id).where(
        WorkOrder.project_id == project_id,
        WorkOrder.id.in_(selection.work_order_ids or ()),
    )
