"""Reading run and step errors back with their code and details, explained in plain words.

A step run's row keeps the error's type and message; the whole error (with its code, details
and line) travels in the step's output state under `errors[<step id>]`, which is where it is
read from here. Rows from before codes existed, or whose output was wiped, still explain
themselves from type and message (see plain_errors).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from sqlalchemy import select

from app.extensions import db
from app.models import Dataclip, Run, StepRun
from app.services.runs.plain_errors import PlainError, explain

Scrub = Callable[[object], object]


def step_errors(step_runs: Iterable[StepRun]) -> dict[uuid.UUID, dict]:
    """Step run id -> its stored error (type, message, and code/details/line when kept), for
    the step runs that have an error. One query, however many steps."""
    failed = [step for step in step_runs if step.error_type or step.error_message]
    clip_ids = {step.output_dataclip_id for step in failed if step.output_dataclip_id}
    kept: dict = {}
    if clip_ids:
        kept = dict(
            db.session.execute(
                select(Dataclip.id, Dataclip.body["errors"]).where(
                    Dataclip.id.in_(clip_ids), Dataclip.wiped_at.is_(None)
                )
            ).all()
        )
    found = {}
    for step in failed:
        error: dict = {"type": step.error_type, "message": step.error_message}
        errors = kept.get(step.output_dataclip_id)
        full = errors.get(str(step.step_id)) if isinstance(errors, dict) else None
        if isinstance(full, dict) and full.get("type") == step.error_type:
            for key in ("code", "details", "line"):
                if full.get(key) is not None:
                    error[key] = full[key]
        found[step.id] = error
    return found


def run_error(run: Run, step_runs: list[StepRun], errors: dict[uuid.UUID, dict]) -> tuple:
    """(the run's error, the name of the step it came from): the run ends with the error of
    its worst step, so that step's full error stands for the run's when they match."""
    for step in step_runs:
        error = errors.get(step.id)
        if error and (error["type"], error["message"]) == (run.error_type, run.error_message):
            return error, step.step_name
    return {"type": run.error_type, "message": run.error_message}, None


def explained(scrub: Scrub, error: dict, step_name: str | None) -> PlainError:
    """`error` masked by `scrub` (details too), then explained."""
    return explain(scrub(error), step_name)  # type: ignore[arg-type]


def explain_all(
    run: Run, step_runs: list[StepRun], scrub: Scrub
) -> tuple[PlainError | None, dict[uuid.UUID, PlainError]]:
    """The run's error and each failed step run's (by id), masked and in plain words."""
    errors = step_errors(step_runs)
    names = {step.id: step.step_name for step in step_runs}
    steps = {step_id: explained(scrub, error, names[step_id]) for step_id, error in errors.items()}
    if not (run.error_type or run.error_message):
        return None, steps
    error, step_name = run_error(run, step_runs, errors)
    return explained(scrub, error, step_name), steps
