"""Bulk reruns: many work orders rerun in the background, in batches, with progress.

Progress lives in a Redis hash (a hint for the progress bar); the runs created are rows.
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select

from app.extensions import DEFAULT_QUEUE, db, queue, redis_client
from app.models import WorkOrder, WorkOrderState
from app.services.errors import Invalid, NotFound
from app.services.runs import commands

BATCH = 100
MAX_WORK_ORDERS = 100_000
BULK_JOB = "workers.jobs.bulk_rerun"


def matching_work_orders(project_id: uuid.UUID, filters: dict) -> list[uuid.UUID]:
    """Work order ids of the project matching `filters` (state, workflow_id), newest first."""
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
    return list(
        db.session.scalars(query.order_by(WorkOrder.inserted_at.desc()).limit(MAX_WORK_ORDERS))
    )


def start(
    project_id: uuid.UUID,
    *,
    actor_id: uuid.UUID | None,
    work_order_ids: list | None,
    filters: dict | None,
    step_key: str | None,
) -> dict:
    """Queue a bulk rerun; returns its id and how many work orders it covers."""
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
    else:
        if not isinstance(filters, dict):
            raise Invalid("filter", "The filter must be an object.")
        ids = matching_work_orders(project_id, filters)
    job_id = secrets.token_hex(8)
    redis_client().hset(
        _key(project_id, job_id),
        mapping={"total": len(ids), "done": 0, "created": 0, "skipped": 0, "state": "queued"},
    )
    redis_client().expire(_key(project_id, job_id), 7 * 24 * 3600)
    queue(DEFAULT_QUEUE).enqueue(
        BULK_JOB,
        str(project_id),
        job_id,
        [str(i) for i in ids],
        str(actor_id) if actor_id else None,
        step_key,
        job_timeout=3600,
    )
    return {"bulk_rerun_id": job_id, "work_orders": len(ids)}


def run_batches(
    project_id: uuid.UUID,
    job_id: str,
    ids: list[uuid.UUID],
    actor_id: uuid.UUID | None,
    step_key: str | None,
) -> None:
    """Rerun `ids` in batches, recording progress after each batch."""
    key = _key(project_id, job_id)
    redis_client().hset(key, "state", "running")
    for start_at in range(0, len(ids), BATCH):
        result = commands.rerun_work_orders(
            ids[start_at : start_at + BATCH],
            project_id=project_id,
            actor_id=actor_id,
            step_key=step_key,
        )
        pipe = redis_client().pipeline()
        pipe.hincrby(key, "done", len(ids[start_at : start_at + BATCH]))
        pipe.hincrby(key, "created", result["created"])
        pipe.hincrby(key, "skipped", result["skipped"])
        pipe.execute()
    redis_client().hset(key, "state", "finished")


def progress(project_id: uuid.UUID, job_id: str) -> dict:
    """{total, done, created, skipped, state} of a bulk rerun."""
    raw = redis_client().hgetall(_key(project_id, job_id))
    if not raw:
        raise NotFound("There is no such bulk rerun (progress is kept for a week).")
    values = {k.decode(): v.decode() for k, v in raw.items()}
    return {k: (int(v) if k != "state" else v) for k, v in values.items()}


def _key(project_id: uuid.UUID, job_id: str) -> str:
    return f"ferry:bulk_rerun:{project_id}:{job_id}"
