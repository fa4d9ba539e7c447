"""Where a run waiting for an automatic retry continues, kept in its row (Run.resume).

When a step fails and its retry policy says to try again later, the walk pauses
(`workers.walker.Pause`) and the run is parked as `available` until the retry is due. Its
`resume` holds, as JSON:

    {"pending": [{"step_id": ..., "input_id": ..., "attempt": 2}, ...],
     "leaves": [{"status": ..., "output_id": ..., "error": {...}}, ...],
     "attempts": {"<step id>": 1}, "spent_s": 1.23}

`pending` is the failed step first (with the number of its next attempt), then the walker's
queue; each names the stored dataclip it receives, so the states are read back from the
database when the run is claimed again (whatever worker claims it: nothing lives in a
process). A zero-persistence project stores no states: they are held in Redis for a day
instead (`app.services.zero_persistence.transient`, `hold_states`). `leaves` are the
branches that already ended.

The run's time limit counts execution only: `spent_s` is the time the walk has taken so
far, and a resumed walk gets what is left of the limit. A wait chosen by a retry policy (up
to a day) must not use up a limit meant for runaway jobs.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping

from sqlalchemy import select

from app.extensions import db
from app.models import Dataclip
from app.services.runs import dataclips
from app.services.runs.dataclips import InputClip
from app.services.zero_persistence import transient
from workers.walker import Leaf, PendingStep, Walk


def resume_point(walk: Walk, spent_s: float, earlier: Mapping | None = None) -> dict:
    """The JSON a paused walk is continued from; `earlier` is the run's previous resume
    point, whose attempt counts carry over."""
    assert walk.paused is not None
    attempts = dict((earlier or {}).get("attempts") or {})
    retried = walk.paused.pending[0]
    attempts[retried.step_id] = retried.attempt - 1  # attempts made so far
    return {
        "pending": [
            {
                "step_id": step.step_id,
                "input_id": str(step.input_ref) if step.input_ref is not None else None,
                "attempt": step.attempt,
            }
            for step in walk.paused.pending
        ],
        "leaves": [
            {
                "status": leaf.status,
                "output_id": str(leaf.output_ref) if leaf.output_ref is not None else None,
                "error": leaf.error,
            }
            for leaf in walk.leaves
        ],
        "attempts": attempts,
        "spent_s": round(spent_s, 3),
    }


def pending_steps(resume: Mapping) -> list[PendingStep]:
    """The steps to run on, each with its input state read from its stored dataclip.
    Raises NotFound/Invalid (ServiceError) when an input is gone or wiped."""
    entries = resume.get("pending") or []
    ids = {uuid.UUID(entry["input_id"]) for entry in entries if entry.get("input_id")}
    clips = _clips(ids)
    steps = []
    for entry in entries:
        input_id = uuid.UUID(entry["input_id"]) if entry.get("input_id") else None
        # Each step gets its own state, as the walker gives each followed edge a copy.
        # (Zero persistence: the inputs were held in Redis when the run began to wait.)
        state = copy.deepcopy(dataclips.input_state(input_id, clips.get(input_id)))
        steps.append(PendingStep(entry["step_id"], state, input_id, int(entry.get("attempt", 1))))
    return steps


def hold_states(walk: Walk) -> list[uuid.UUID]:
    """For a project that stores no bodies: hold each pending step's input state in Redis
    (by the dataclip it names) until the run goes on; returns the dataclip ids held."""
    assert walk.paused is not None
    held = {}
    for step in walk.paused.pending:
        if step.input_ref is not None:
            held.setdefault(step.input_ref, step.state)
    try:
        for dataclip_id, state in held.items():
            transient.keep(dataclip_id, transient.as_text(state))
    except transient.Unavailable:
        raise transient.Unavailable(
            "The step's input could not be held for its automatic retry: this project keeps "
            "no inputs in the database (zero persistence) and Redis did not answer."
        ) from None
    return list(held)


def leaves(resume: Mapping) -> list[Leaf]:
    """The branches that ended before the run waited."""
    return [
        Leaf(
            leaf["status"],
            uuid.UUID(leaf["output_id"]) if leaf.get("output_id") else None,
            leaf.get("error"),
        )
        for leaf in resume.get("leaves") or []
    ]


def spent_s(resume: Mapping | None) -> float:
    """Seconds of the run's time limit already used before the wait."""
    return float((resume or {}).get("spent_s") or 0.0)


def _clips(ids: set[uuid.UUID]) -> dict[uuid.UUID, InputClip]:
    """The dataclips the pending steps receive, in one query."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            Dataclip.id,
            Dataclip.type,
            Dataclip.body,
            Dataclip.raw_body,
            Dataclip.request,
            Dataclip.wiped_at,
            Dataclip.not_stored,
        ).where(Dataclip.id.in_(ids))
    ).all()
    db.session.commit()  # release the read transaction before the steps run
    return {row[0]: InputClip(*row[1:6], not_stored=bool(row[6])) for row in rows}
