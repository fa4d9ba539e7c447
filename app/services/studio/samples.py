"""The data mapper's samples: the input a step is built against, chosen from the workflow's
last input, a saved test input or a recent run's input, a pasted JSON sample, or what the
previous step gave in the last run; and the fields and lists found in it, for the tree.

A sample is shown as the step sees its input (a state: `{"data": ..., ...}`), masked like run
pages mask stored data. Nothing here runs job code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Edge, Run, StepRun
from app.services.errors import Invalid, NotFound
from app.services.parsing import kind_of, load_json
from app.services.studio import run_panel
from app.services.workflows import store as workflows

MAX_PASTE = 200_000  # characters; a sample to map from, not a bulk upload
TREE_ITEMS = 3  # items of a list drawn in the tree (the rest counted): enough to see its shape
TREE_KEYS = 60  # keys of one object drawn in the tree


@dataclass
class Choice:
    """A sample the mapper offers: `value` as posted back (last, previous, paste, clip:<id>)."""

    value: str
    label: str


@dataclass
class Sample:
    """The chosen sample as a state (None when there is none yet) and why, in words."""

    state: dict | None
    source: str
    note: str = ""
    lists: list[dict] = field(default_factory=list)


def choices(workflow_id: uuid.UUID, project_id: uuid.UUID) -> dict[str, list[Choice]]:
    """The samples to choose from, grouped: the workflow's own, and stored inputs."""
    workflows.get_workflow(workflow_id, project_id)
    stored = run_panel.input_choices(workflow_id, project_id)
    return {
        "own": [
            Choice("last", "The last input this workflow received"),
            Choice("previous", "The previous step's output in the last run"),
            Choice("paste", "A JSON sample I paste"),
        ],
        "saved": [Choice(f"clip:{c.dataclip_id}", c.label) for c in stored["saved"]],
        "recent": [Choice(f"clip:{c.dataclip_id}", c.label) for c in stored["recent"]],
    }


def load(
    workflow_id: uuid.UUID,
    project_id: uuid.UUID,
    source: str,
    *,
    pasted: str = "",
    step_id: uuid.UUID | None = None,
) -> Sample:
    """The sample `source` names, as a state; Invalid (field `sample_json` or `sample`) when a
    pasted sample cannot be read or the choice is unknown."""
    workflows.get_workflow(workflow_id, project_id)
    if source == "paste":
        if not (pasted or "").strip():  # nothing typed yet is not an error
            return Sample(None, source, "Paste a JSON sample in the box above.")
        return _found(parse_pasted(pasted), source)
    if source == "last":
        clip_id = _last_input(workflow_id)
        if clip_id is None:
            return Sample(None, source, "No input has reached this workflow yet.")
        return _found(run_panel.input_preview(project_id, clip_id), source)
    if source == "previous":
        return _previous_output(workflow_id, project_id, step_id)
    if source.startswith("clip:"):
        try:
            clip_id = uuid.UUID(source[5:])
        except ValueError:
            raise Invalid("sample", "Choose a sample from the list.") from None
        try:
            return _found(run_panel.input_preview(project_id, clip_id), source)
        except NotFound:
            raise Invalid("sample", "That input is not in this project any more.") from None
    raise Invalid("sample", "Choose a sample from the list.")


def parse_pasted(text: str) -> dict:
    """A pasted sample as a state: a JSON object with `data` is taken as is, anything else
    (a list of records, a plain object) becomes the `data` the step gets."""
    text = text or ""
    if not text.strip():
        raise Invalid("sample_json", 'Paste a JSON sample, e.g. {"records": [{"name": "Ada"}]}.')
    if len(text) > MAX_PASTE:
        raise Invalid(
            "sample_json",
            f"The sample is too long ({len(text):,} characters): paste at most "
            f"{MAX_PASTE:,}, a few records are enough.",
        )
    value = load_json(text, field="sample_json", what="The sample")
    if isinstance(value, dict) and "data" in value:
        return value
    return {"data": value}


def _found(body: object, source: str) -> Sample:
    state = body if isinstance(body, dict) else {"data": body}
    return Sample(state, source, lists=lists_in(state))


def _last_input(workflow_id: uuid.UUID) -> uuid.UUID | None:
    return db.session.scalar(
        select(Run.dataclip_id)
        .where(Run.workflow_id == workflow_id, Run.dataclip_id.isnot(None))
        .order_by(Run.inserted_at.desc())
        .limit(1)
    )


def _previous_output(
    workflow_id: uuid.UUID, project_id: uuid.UUID, step_id: uuid.UUID | None
) -> Sample:
    """What the step before `step_id` gave in the latest run that ran it."""
    if step_id is None:
        return Sample(None, "previous", "Save the workflow first: a new step has no run yet.")
    before = db.session.scalars(
        select(Edge.source_step_id).where(
            Edge.workflow_id == workflow_id,
            Edge.target_step_id == step_id,
            Edge.source_step_id.isnot(None),
        )
    ).all()
    if not before:
        return Sample(
            None, "previous", "This step comes right after the trigger: choose its last input."
        )
    clip_id = db.session.scalar(
        select(StepRun.output_dataclip_id)
        .join(Run, Run.id == StepRun.run_id)
        .where(
            Run.workflow_id == workflow_id,
            Run.project_id == project_id,
            StepRun.step_id.in_(before),
            StepRun.output_dataclip_id.isnot(None),
        )
        .order_by(StepRun.started_at.desc())
        .limit(1)
    )
    if clip_id is None:
        return Sample(None, "previous", "The previous step has not finished a run yet.")
    try:
        return _found(run_panel.input_preview(project_id, clip_id), "previous")
    except (NotFound, Invalid):
        return Sample(None, "previous", "The previous step's output was wiped.")


def lists_in(state: object, limit: int = 20) -> list[dict]:
    """The lists in a sample (`data`, `data.patients`) that "Repeat for each" can go over,
    each with how many items it has (lists inside list items are per record, not offered)."""
    found: list[dict] = []
    pending: list[tuple[object, str]] = [(state, "")]
    while pending and len(found) < limit:
        value, path = pending.pop(0)
        if isinstance(value, list):
            if path and not any(part.isdigit() for part in path.split(".")):
                found.append({"path": path, "count": len(value)})
            if value:
                pending.append((value[0], f"{path}.0" if path else "0"))
        elif isinstance(value, dict):
            for key, child in list(value.items())[:TREE_KEYS]:
                pending.append((child, f"{path}.{key}" if path else str(key)))
    return found


def paths_in(state: object, limit: int = 80) -> list[str]:
    """Field paths of a sample (`data.records`, `data.records.0.name`), breadth first, for the
    "From input" boxes' suggestions; of a list, its first item stands for the others."""
    found: list[str] = []
    pending: list[tuple[object, str]] = [(state, "")]
    while pending and len(found) < limit:
        value, path = pending.pop(0)
        if path:
            found.append(path)
        if isinstance(value, list) and value:
            pending.append((value[0], f"{path}.0" if path else "0"))
        elif isinstance(value, dict):
            for key, child in list(value.items())[:TREE_KEYS]:
                pending.append((child, f"{path}.{key}" if path else str(key)))
    return found


def describe(value: object) -> str:
    """A value as the tree shows it next to its name: short text, or its kind and size."""
    if isinstance(value, dict):
        return f"{len(value)} field{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"list of {len(value)}"
    if isinstance(value, str):
        return f"“{value[:40]}…”" if len(value) > 40 else f"“{value}”"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if isinstance(value, int | float) else kind_of(value)
