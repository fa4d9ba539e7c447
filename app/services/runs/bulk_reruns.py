"""Bulk reruns: many work orders rerun in the background, in batches, with progress.

The request is a `BulkRerun` row plus one `BulkRerunItem` per work order still to rerun; the
job gets the row's id only. Each batch reruns its work orders, then deletes their items and
moves the row's counts in one transaction, so the row is the truth the progress bar reads and a
Redis flush or restart loses nothing: a stalled or failed bulk rerun is resumed from its items.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, timedelta

from sqlalchemy import Select, delete, func, insert, literal, select, update
from sqlalchemy.types import Uuid

from app.extensions import DEFAULT_QUEUE, db, queue
from app.models import BulkRerun, BulkRerunItem, BulkRerunState, Run, WorkOrder, WorkOrderState
from app.models.base import utcnow
from app.services.errors import Invalid, NotFound
from app.services.runs import commands

log = logging.getLogger("ferry.bulk_reruns")

BATCH = 100
MAX_WORK_ORDERS = 100_000
BULK_JOB = "workers.jobs.bulk_rerun"
# A batch takes seconds; a row silent this long has most likely lost its worker.
STALLED_AFTER = timedelta(minutes=5)
_OPEN = (BulkRerunState.QUEUED, BulkRerunState.RUNNING)


def matching_query(project_id: uuid.UUID, filters: dict) -> Select:
    """A query of the project's work order ids matching `filters` (state, workflow_id),
    newest first, capped at MAX_WORK_ORDERS."""
    query = select(WorkOrder.id).where(WorkOrder.project_id == project_id)
    if filters.get("state"):
        try:
            query = query.where(WorkOrder.state == WorkOrderState(filters["state"]))
        except ValueError:
            raise Invalid("filter.state", f"Unknown state {filters['state']!r}.") from None
    if filters.get("workflow_id"):
        try:
            query = query.where(WorkOrder.workflow_id == uuid.UUID(str(filters["workflow_id"])))
        except ValueError:
            raise Invalid("filter.workflow_id", "workflow_id is not an id.") from None
    return query.order_by(WorkOrder.inserted_at.desc()).limit(MAX_WORK_ORDERS)


def start(
    project_id: uuid.UUID,
    *,
    actor_id: uuid.UUID | None,
    work_order_ids: list | None,
    filters: dict | None,
    step_key: str | None,
) -> dict:
    """Queue a bulk rerun; returns its id and how many work orders it covers."""
    # Types first: the arguments come from a JSON body, which may hold anything at all.
    if work_order_ids is not None and not (
        isinstance(work_order_ids, list)
        and all(isinstance(i, str | uuid.UUID) for i in work_order_ids)
    ):
        raise Invalid("work_order_ids", "work_order_ids must be a list of work order ids.")
    if work_order_ids is not None and len(work_order_ids) > MAX_WORK_ORDERS:
        raise Invalid("work_order_ids", f"At most {MAX_WORK_ORDERS:,} work orders at once.")
    if filters is not None and not isinstance(filters, dict):
        raise Invalid("filter", 'The filter must be an object, e.g. {"state": "failed"}.')
    for key, value in (filters or {}).items():
        if key not in ("state", "workflow_id"):
            raise Invalid(f"filter.{key}", "A filter may name state and workflow_id only.")
        if value is not None and not isinstance(value, str):
            raise Invalid(f"filter.{key}", f"filter.{key} must be text.")
    if step_key is not None and not isinstance(step_key, str):
        raise Invalid("step", 'step must be the key of a step (text), e.g. "load".')
    if (work_order_ids is None) == (filters is None):
        raise Invalid("work_order_ids", "Give either work_order_ids or a filter.")
    if work_order_ids is not None:
        try:
            ids = [uuid.UUID(str(i)) for i in work_order_ids]
        except ValueError:
            raise Invalid("work_order_ids", "Every work order id must be an id.") from None
        known = set(
            db.session.scalars(
                select(WorkOrder.id).where(
                    WorkOrder.id.in_(ids), WorkOrder.project_id == project_id
                )
            )
        )
        missing = [str(i) for i in ids if i not in known]
        if missing:
            raise Invalid(
                "work_order_ids", f"Not work orders of this project: {', '.join(missing[:5])}."
            )
        chosen = select(WorkOrder.id).where(
            WorkOrder.id.in_(known), WorkOrder.project_id == project_id
        )
    else:
        if not isinstance(filters, dict):
            raise Invalid("filter", "The filter must be an object.")
        chosen = matching_query(project_id, filters)
    bulk = create(project_id, actor_id=actor_id, chosen=chosen, step_key=step_key)
    return {"bulk_rerun_id": str(bulk.id), "work_orders": bulk.total}


def create(
    project_id: uuid.UUID, *, actor_id: uuid.UUID | None, chosen: Select, step_key: str | None
) -> BulkRerun:
    """Store a bulk rerun of the work order ids `chosen` selects, then queue its job.

    The ids go from query to table inside the database (any number of them, no parameter
    per id). An empty selection is finished at once and queues nothing.
    """
    bulk = BulkRerun(project_id=project_id, requested_by_id=actor_id, step_key=step_key, total=0)
    db.session.add(bulk)
    db.session.flush()
    picked = chosen.subquery()
    db.session.execute(
        insert(BulkRerunItem.__table__).from_select(
            ["bulk_rerun_id", "work_order_id"],
            select(literal(bulk.id, Uuid()), picked.c[0]),
        )
    )
    # Counted, not taken from rowcount: drivers report -1 for INSERT ... SELECT.
    bulk.total = db.session.scalar(
        select(func.count()).where(BulkRerunItem.bulk_rerun_id == bulk.id)
    )
    if bulk.total == 0:
        bulk.state = BulkRerunState.FINISHED
        bulk.finished_at = utcnow()
    db.session.commit()
    if bulk.total:
        _enqueue(bulk.id)
    return bulk


def run_batches(bulk_rerun_id: uuid.UUID | str) -> None:
    """The job: rerun every work order left, batch by batch; a failure marks the row failed
    (with the reason) and is raised again for the worker's log."""
    bulk_id = _as_id(bulk_rerun_id)
    started = db.session.execute(
        update(BulkRerun)
        .where(BulkRerun.id == bulk_id, BulkRerun.state.in_(_OPEN))
        .values(state=BulkRerunState.RUNNING, updated_at=utcnow())
    )
    db.session.commit()
    if started.rowcount == 0:
        log.info("bulk rerun %s is not open (finished, failed or gone): nothing to do", bulk_id)
        return
    try:
        while run_batch(bulk_id):
            pass
    except Exception as error:
        db.session.rollback()
        _finish(bulk_id, BulkRerunState.FAILED, _reason(error))
        raise
    _finish(bulk_id, BulkRerunState.FINISHED, None)


def run_batch(bulk_rerun_id: uuid.UUID | str) -> bool:
    """Rerun the next BATCH work orders of a bulk rerun; False when none were left.

    The reruns commit one by one (as a single retry does); the row moves once, after them.
    A worker dying in between leaves those items in place: on resume, a work order with a
    run newer than the request was rerun already (by that worker) and is counted, not rerun
    twice.
    """
    bulk = db.session.get(BulkRerun, _as_id(bulk_rerun_id))
    if bulk is None:
        raise NotFound("There is no such bulk rerun.")
    bulk_id, project_id, requested_at = bulk.id, bulk.project_id, bulk.inserted_at
    actor_id, step_key = bulk.requested_by_id, bulk.step_key
    ids = list(
        db.session.scalars(
            select(BulkRerunItem.work_order_id)
            .where(BulkRerunItem.bulk_rerun_id == bulk_id)
            .order_by(BulkRerunItem.work_order_id)
            .limit(BATCH)
        )
    )
    if not ids:
        return False
    rerun_already = set(
        db.session.scalars(
            select(Run.work_order_id).where(
                Run.work_order_id.in_(ids), Run.inserted_at >= requested_at
            )
        )
    )
    todo = [work_order_id for work_order_id in ids if work_order_id not in rerun_already]
    result = commands.rerun_work_orders(
        todo, project_id=project_id, actor_id=actor_id, step_key=step_key
    )
    result["created"] += len(rerun_already)
    removed = db.session.execute(
        delete(BulkRerunItem).where(
            BulkRerunItem.bulk_rerun_id == bulk_id, BulkRerunItem.work_order_id.in_(ids)
        )
    )
    db.session.execute(
        update(BulkRerun)
        .where(BulkRerun.id == bulk_id)
        .values(
            # Items deleted, not ids read: a second job on the same row never counts twice.
            done=BulkRerun.done + removed.rowcount,
            created=BulkRerun.created + result["created"],
            skipped=BulkRerun.skipped + result["skipped"],
            state=BulkRerunState.RUNNING,
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    return True


def get(project_id: uuid.UUID, bulk_rerun_id: uuid.UUID | str) -> BulkRerun:
    """A bulk rerun of the project; NotFound for another project's or an unknown id."""
    try:
        bulk = db.session.get(BulkRerun, _as_id(bulk_rerun_id))
    except ValueError:
        bulk = None
    if bulk is None or bulk.project_id != project_id:
        raise NotFound("There is no such bulk rerun in this project.")
    return bulk


def progress(project_id: uuid.UUID, bulk_rerun_id: uuid.UUID | str) -> dict:
    """{total, done, created, skipped, state} of a bulk rerun, read from its row."""
    bulk = get(project_id, bulk_rerun_id)
    return {
        "total": bulk.total,
        "done": bulk.done,
        "created": bulk.created,
        "skipped": bulk.skipped,
        "state": bulk.state.value,
    }


def is_stalled(bulk: BulkRerun) -> bool:
    """True when an open bulk rerun has not moved for STALLED_AFTER (its worker is gone,
    or its job was lost with Redis)."""
    moved = bulk.updated_at
    if moved.tzinfo is None:  # SQLite (the demo database) hands back naive UTC
        moved = moved.replace(tzinfo=UTC)
    return bulk.state in _OPEN and moved < utcnow() - STALLED_AFTER


def resume(project_id: uuid.UUID, bulk_rerun_id: uuid.UUID | str) -> bool:
    """Queue a failed or stalled bulk rerun again, for the work orders it has left; False
    (and nothing queued) when it is finished or still moving."""
    bulk = get(project_id, bulk_rerun_id)
    now = utcnow()
    # One conditional UPDATE, so a double click (or two people) queues one job, not two.
    resumed = db.session.execute(
        update(BulkRerun)
        .where(
            BulkRerun.id == bulk.id,
            (BulkRerun.state == BulkRerunState.FAILED)
            | (BulkRerun.state.in_(_OPEN) & (BulkRerun.updated_at < now - STALLED_AFTER)),
        )
        .values(state=BulkRerunState.QUEUED, error=None, finished_at=None, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    db.session.commit()
    if resumed.rowcount == 0:
        return False
    _enqueue(bulk.id)
    return True


def _enqueue(bulk_id: uuid.UUID) -> None:
    """Hand the row's id (nothing else) to a worker; called after the row is committed."""
    queue(DEFAULT_QUEUE).enqueue(BULK_JOB, str(bulk_id), job_timeout=3600)


def _finish(bulk_id: uuid.UUID, state: BulkRerunState, error: str | None) -> None:
    now = utcnow()
    db.session.execute(
        update(BulkRerun)
        .where(BulkRerun.id == bulk_id)
        .values(state=state, error=error, finished_at=now, updated_at=now)
    )
    db.session.commit()


def _reason(error: Exception) -> str:
    """What the page says about a failed job: the kind of error only (its text may quote
    data), the details stay in the worker's log."""
    return f"The worker stopped with an error ({type(error).__name__}); its log has the details."


def _as_id(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
