"""One batch of a history export written as JSON Lines: the batch's work orders, then their
runs, step runs, log lines and (when asked) dataclips, each loaded for the whole batch at once.

Every text that may quote a credential (errors, log lines, dataclip bodies and request
metadata) passes through the run page's masker first, so the file shows what the pages show.
Rows are read as plain columns, never as ORM objects: a long export would otherwise fill the
session, and log lines and dataclips come through a server-side cursor a few at a time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import IO

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Dataclip,
    DataclipType,
    LogLine,
    Run,
    StepRun,
    Trigger,
    Workflow,
    WorkOrder,
)
from app.scrub import Scrubber
from app.services.history.run_page import run_masker

FILES = ("work_orders", "runs", "steps", "logs", "dataclips")
IN_CHUNK = 5000  # ids per IN list, well under PostgreSQL's 65,535 parameters
LOG_FETCH = 2000  # log lines per round trip of the server-side cursor
CLIP_FETCH = 8  # dataclips per round trip: a body may be megabytes
# Dataclips that several work orders may share (a saved input run by hand many times):
# written once per export. Others belong to one work order, hence to one batch.
SHARED_TYPES = (DataclipType.GLOBAL, DataclipType.SAVED_INPUT)


class Lines:
    """A JSON Lines file being written: one record per line, counted."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.count = 0

    def write(self, record: dict) -> None:
        """Append `record` as one line of UTF-8 JSON."""
        text = json.dumps(record, ensure_ascii=False, default=_plain, separators=(",", ":"))
        self.file.write(text.encode() + b"\n")
        self.count += 1


def write_batch(
    project_id: uuid.UUID,
    work_order_ids: list[uuid.UUID],
    out: dict[str, Lines],
    *,
    include_dataclips: bool,
    shared_written: set[uuid.UUID],
) -> None:
    """Write the records of these work orders (in this order) into `out` (keyed by FILES)."""
    orders = {
        row.id: row
        for row in db.session.execute(
            select(WorkOrder.__table__).where(WorkOrder.id.in_(work_order_ids))
        )
    }
    runs = _rows(Run, Run.work_order_id, list(orders), (Run.inserted_at, Run.id))
    steps = _rows(StepRun, StepRun.run_id, [r.id for r in runs], (StepRun.started_at, StepRun.id))
    snapshots = {o.snapshot_id for o in orders.values()} | {r.snapshot_id for r in runs}
    masker = run_masker(project_id, snapshots)
    workflows, triggers = _names(orders.values())
    run_order = {run.id: run.work_order_id for run in runs}
    for work_order_id in work_order_ids:
        order = orders.get(work_order_id)
        if order is not None:
            out["work_orders"].write(_work_order(order, workflows, triggers))
    for run in runs:
        out["runs"].write(_run(run, masker))
    for step in steps:
        out["steps"].write(_step(step, run_order.get(step.run_id), masker))
    for line in _logs(list(run_order)):
        out["logs"].write(_log(line, masker))
    if include_dataclips:
        wanted = {o.dataclip_id for o in orders.values()}
        wanted |= {r.dataclip_id for r in runs} | {r.final_dataclip_id for r in runs}
        wanted |= {s.input_dataclip_id for s in steps} | {s.output_dataclip_id for s in steps}
        wanted -= {None} | shared_written
        for clip in _dataclips(project_id, sorted(wanted)):
            if clip.type in SHARED_TYPES:
                shared_written.add(clip.id)
            out["dataclips"].write(_dataclip(clip, masker))


def _rows(model, key, ids: list, order: tuple) -> list:
    found = []
    for chunk in _chunks(ids):
        found += db.session.execute(
            select(model.__table__).where(key.in_(chunk)).order_by(key, *order)
        ).all()
    return found


def _names(orders: Iterable) -> tuple[dict, dict]:
    orders = list(orders)
    workflow_ids = {o.workflow_id for o in orders}
    trigger_ids = {o.trigger_id for o in orders if o.trigger_id}
    workflows = dict(
        db.session.execute(
            select(Workflow.id, Workflow.name).where(Workflow.id.in_(workflow_ids))
        ).all()
    )
    triggers = {
        row.id: (row.type.value, row.key)
        for row in db.session.execute(
            select(Trigger.id, Trigger.type, Trigger.key).where(Trigger.id.in_(trigger_ids))
        )
    }
    return workflows, triggers


def _logs(run_ids: list) -> Iterator:
    for chunk in _chunks(run_ids):
        query = (
            select(LogLine.__table__)
            .where(LogLine.run_id.in_(chunk))
            .order_by(LogLine.run_id, LogLine.timestamp, LogLine.id)
            .execution_options(yield_per=LOG_FETCH)
        )
        yield from db.session.execute(query)


def _dataclips(project_id: uuid.UUID, ids: list) -> Iterator:
    for chunk in _chunks(ids):
        query = (
            select(Dataclip.__table__)
            .where(Dataclip.id.in_(chunk), Dataclip.project_id == project_id)
            .order_by(Dataclip.inserted_at, Dataclip.id)
            .execution_options(yield_per=CLIP_FETCH)
        )
        yield from db.session.execute(query)


def _work_order(order, workflows: dict, triggers: dict) -> dict:
    trigger_type, trigger_key = triggers.get(order.trigger_id, (None, None))
    return {
        "id": order.id,
        "workflow_id": order.workflow_id,
        "workflow_name": workflows.get(order.workflow_id),
        "trigger_id": order.trigger_id,
        "trigger_type": trigger_type,  # None: started by hand
        "trigger_key": trigger_key,
        "snapshot_id": order.snapshot_id,
        "input_dataclip_id": order.dataclip_id,
        "state": order.state,
        "received_at": order.inserted_at,
        "last_activity_at": order.last_activity_at,
    }


def _run(run, masker: Scrubber) -> dict:
    return {
        "id": run.id,
        "work_order_id": run.work_order_id,
        "workflow_id": run.workflow_id,
        "snapshot_id": run.snapshot_id,
        "starting_trigger_id": run.starting_trigger_id,
        "starting_step_id": run.starting_step_id,
        "input_dataclip_id": run.dataclip_id,
        "final_dataclip_id": run.final_dataclip_id,
        "state": run.state,
        "priority": run.priority,
        "created_by_id": run.created_by_id,
        "error_type": run.error_type,
        "error_message": _masked(masker, run.error_message),
        "queued_at": run.inserted_at,
        "claimed_at": run.claimed_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def _step(step, work_order_id: uuid.UUID | None, masker: Scrubber) -> dict:
    return {
        "id": step.id,
        "run_id": step.run_id,
        "work_order_id": work_order_id,
        "step_id": step.step_id,
        "step_name": step.step_name,
        "input_dataclip_id": step.input_dataclip_id,
        "output_dataclip_id": step.output_dataclip_id,
        "exit_reason": step.exit_reason,
        "error_type": step.error_type,
        "error_message": _masked(masker, step.error_message),
        "attempt": step.attempt,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }


def _log(line, masker: Scrubber) -> dict:
    return {
        "id": line.id,
        "run_id": line.run_id,
        "step_run_id": line.step_run_id,
        "timestamp": line.timestamp,
        "level": line.level,
        "source": line.source,
        "message": _masked(masker, line.message),
    }


def _dataclip(clip, masker: Scrubber) -> dict:
    if clip.wiped_at is not None:
        # The retention policy erased the body: say when, never what.
        return {"id": clip.id, "wiped_at": clip.wiped_at}
    record = {
        "id": clip.id,
        "type": clip.type,
        "name": clip.name,
        "inserted_at": clip.inserted_at,
        "content_type": clip.content_type,
        # Auth and signature headers were redacted when the request was stored.
        "request": masker.scrub_json(clip.request) if clip.request is not None else None,
    }
    if clip.raw_body is not None:
        record["raw_body"] = masker.scrub_text(clip.raw_body)
    else:
        record["body"] = masker.scrub_json(clip.body)
    return record


def _masked(masker: Scrubber, text: str | None) -> str | None:
    return None if text is None else masker.scrub_text(text)


def _chunks(ids: list) -> Iterator[list]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def _plain(value: object) -> object:
    """JSON for the values rows hold besides JSON's own: ids and moments."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
