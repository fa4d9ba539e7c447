"""Cron cursors: which stored state the next run of a cron trigger starts from.

A scheduled "since the last sync" pull must continue from the last run that really got
through, never from one that failed half-way: with `last_success` that is the final state
of the workflow's last successful run; with `step_output`, the chosen step's output in the
last successful run in which that step ran. A failed run moves neither cursor, so the run
after it starts where the failed one did. The scheduler (`cron.tick`) and the trigger
panel's "next input" box both read the cursor here, so what the panel shows is what the
next tick uses.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import CronInput, Dataclip, Run, RunState, Step, StepExitReason, StepRun
from app.services.errors import Invalid

PREVIEW_CHARS = 160


@dataclass(frozen=True)
class NextInput:
    """The dataclip a cron run would start from, and where it came from.

    `dataclip_id` is None when the run starts with `{}`; `reason` then says why (nothing
    succeeded yet, the input is set to empty, or the stored state was wiped)."""

    mode: CronInput
    dataclip_id: uuid.UUID | None = None
    made_at: datetime | None = None
    run_id: uuid.UUID | None = None
    step_run_id: uuid.UUID | None = None
    step_name: str | None = None
    preview: str = ""
    reason: str = ""


def next_dataclip_id(
    workflow_id: uuid.UUID, mode: CronInput, step_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The id of the dataclip the next cron run receives (None: it starts with `{}`)."""
    return next_input(workflow_id, mode, step_id).dataclip_id


def next_input(workflow_id: uuid.UUID, mode: CronInput, step_id: uuid.UUID | None) -> NextInput:
    """What the next cron run of the workflow would start from, with its origin and preview.

    `step_output` without a step (the chosen step was deleted) falls back to `last_success`,
    as the scheduler always has."""
    mode = CronInput(mode)
    if mode is CronInput.EMPTY:
        return NextInput(mode, reason="This trigger is set to start every run with nothing.")
    if mode is CronInput.STEP_OUTPUT and step_id is not None:
        found = _step_output(workflow_id, step_id)
        nothing = "The chosen step has not succeeded in a successful run yet."
    else:
        found = _final_state(workflow_id)
        nothing = "No run of this workflow has succeeded yet."
    if found is None:
        return NextInput(mode, reason=nothing)
    run_id, step_run_id, step_name, dataclip_id = found
    clip = db.session.get(Dataclip, dataclip_id)
    if clip is not None and clip.not_stored:
        # Zero persistence: the state was never stored, so each run starts afresh.
        return NextInput(
            mode,
            run_id=run_id,
            reason="The project keeps no outputs (zero persistence), so each run starts with {}.",
        )
    if clip is None or clip.wiped_at is not None:
        # A wiped cursor cannot be read back; starting from it would fail every tick and
        # the cursor could then never move again, so the run starts afresh instead.
        return NextInput(
            mode,
            run_id=run_id,
            reason="The last successful run's output was wiped by the retention policy.",
        )
    return NextInput(
        mode,
        dataclip_id=clip.id,
        made_at=clip.inserted_at,
        run_id=run_id,
        step_run_id=step_run_id,
        step_name=step_name,
        preview=_preview(clip.body),
    )


def _final_state(workflow_id: uuid.UUID) -> tuple | None:
    """(run id, step run id, step name, dataclip id) of the last successful run's final
    state; the step run is the leaf that produced it, for the link to the run page."""
    row = db.session.execute(
        select(Run.id, Run.final_dataclip_id)
        .where(
            Run.workflow_id == workflow_id,
            Run.state == RunState.SUCCESS,
            Run.final_dataclip_id.isnot(None),
        )
        .order_by(Run.finished_at.desc(), Run.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    run_id, dataclip_id = row
    step = db.session.execute(
        select(StepRun.id, StepRun.step_name)
        .where(StepRun.run_id == run_id, StepRun.output_dataclip_id == dataclip_id)
        .limit(1)
    ).first()
    return run_id, step[0] if step else None, step[1] if step else None, dataclip_id


def _step_output(workflow_id: uuid.UUID, step_id: uuid.UUID) -> tuple | None:
    """The chosen step's output in the last successful run in which it succeeded; a step
    that succeeded inside a run that failed later does not count (its data was not loaded)."""
    row = db.session.execute(
        select(Run.id, StepRun.id, StepRun.step_name, StepRun.output_dataclip_id)
        .join(StepRun, StepRun.run_id == Run.id)
        .where(
            Run.workflow_id == workflow_id,
            Run.state == RunState.SUCCESS,
            StepRun.step_id == step_id,
            StepRun.exit_reason == StepExitReason.SUCCESS,
            StepRun.output_dataclip_id.isnot(None),
        )
        .order_by(Run.finished_at.desc(), StepRun.finished_at.desc())
        .limit(1)
    ).first()
    return tuple(row) if row is not None else None


def _preview(body: object) -> str:
    """The start of the state as compact JSON, for a glance in the panel."""
    text = json.dumps(body, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def for_panel(workflow_id: uuid.UUID, mode: str | None, step_key: str | None) -> NextInput:
    """The next input for the trigger panel's current (possibly unsaved) choice: `mode` as
    the YAML spells it, `step_key` the chosen step's key. Invalid for an unknown mode."""
    try:
        chosen = CronInput((mode or CronInput.LAST_SUCCESS.value).strip())
    except ValueError:
        raise Invalid(
            "cron_input", "Choose what each run receives: last_success, step_output or empty."
        ) from None
    step_id = None
    if chosen is CronInput.STEP_OUTPUT:
        if not step_key:
            return NextInput(chosen, reason="Choose the step whose output the next run receives.")
        step_id = db.session.scalar(
            select(Step.id).where(Step.workflow_id == workflow_id, Step.key == step_key)
        )
        if step_id is None:
            return NextInput(chosen, reason="That step is not saved yet, so it has never run.")
    return next_input(workflow_id, chosen, step_id)
