"""Bulk actions from the history page: rerun or cancel chosen work orders, or every work order
matching a filter, after a confirmation that says how many will be affected.

Reruns go through `bulk_reruns` (a background job with progress); cancelling pending runs is
one set-based UPDATE, with the same rules as cancelling a single run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, distinct, func, select, update

from app.extensions import db
from app.models import Run, RunState, Step, Workflow, WorkOrder, WorkOrderState
from app.models.base import utcnow
from app.services.errors import Invalid
from app.services.history import listing
from app.services.history.filters import HistoryFilter, QueryArgs, parse_filter
from app.services.runs import bulk_reruns, events

MAX_WORK_ORDERS = bulk_reruns.MAX_WORK_ORDERS
MAX_CHOSEN = 1000  # rows ticked by hand: a few pages at most
# Ids per bulk rerun job: its validation query binds one parameter per id, and PostgreSQL
# allows 65,535 parameters in a statement.
CHUNK = 10_000
MAX_EVENTS = 1000  # live-view hints after a big cancel; beyond that a reload shows the truth
ACTIONS = ("rerun", "cancel")


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
class BulkRerun:
    """The background jobs a rerun was split into, and how many work orders they cover."""

    job_ids: list[str]
    work_orders: int

    @property
    def progress(self) -> dict:
        """Progress as the jobs start: nothing done yet."""
        return {
            "total": self.work_orders,
            "done": 0,
            "created": 0,
            "skipped": 0,
            "finished": False,
            "percent": 0,
        }


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
) -> BulkRerun:
    """Queue reruns of the selected work orders, from the start or from the step `step_key`."""
    if step_key is not None and step_key not in {k for k, _ in step_choices(project_id, selection)}:
        raise Invalid("step", "None of the selected work orders' workflows has that step.")
    ids = list(db.session.scalars(_chosen(project_id, selection)))
    if not ids:
        raise Invalid("work_order_ids", "No work orders match, so nothing was rerun.")
    job_ids = [
        bulk_reruns.start(
            project_id,
            actor_id=actor_id,
            work_order_ids=[str(i) for i in ids[start : start + CHUNK]],
            filters=None,
            step_key=step_key,
        )["bulk_rerun_id"]
        for start in range(0, len(ids), CHUNK)
    ]
    return BulkRerun(job_ids, len(ids))


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


def progress(project_id: uuid.UUID, job_ids: list[str]) -> dict:
    """The summed progress of a rerun's jobs: total, done, created, skipped, finished."""
    parts = [bulk_reruns.progress(project_id, job_id) for job_id in job_ids]
    totals = {
        key: sum(part[key] for part in parts) for key in ("total", "done", "created", "skipped")
    }
    totals["finished"] = all(part["state"] == "finished" for part in parts)
    totals["percent"] = round(100 * totals["done"] / totals["total"]) if totals["total"] else 100
    return totals


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
