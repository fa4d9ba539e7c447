"""The Studio's run panel: inputs to choose from, saved test inputs, live progress of a run,
and one step's input, output and logs."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Dataclip, DataclipType, Run, RunState, StepRun
from app.services import project_limits, zero_persistence
from app.services.credentials import store
from app.services.errors import Invalid, NotFound
from app.services.history.run_page import ShownLogLine, dataclip_view, run_scrubber, shown_text
from app.services.parsing import load_json
from app.services.runs import commands, queries, retries, stored_errors
from app.services.runs.plain_errors import PlainError
from app.services.workflows import store as workflows
from app.services.zero_persistence import settings as zero_persistence_settings

MAX_INPUT_NAME = 200
RECENT_RUNS = 10


@dataclass
class InputChoice:
    """A stored input the run panel offers: a saved test input or a recent run's input."""

    dataclip_id: uuid.UUID
    label: str


@dataclass
class StepDetail:
    """What the run panel's tabs show for one step of one run (stored data masked)."""

    step_run: StepRun | None
    input_body: str | None  # printed for its tab: indented JSON, or a large one's start
    output_body: str | None
    logs: list[ShownLogLine]
    error: str | None = None
    plain: PlainError | None = None  # the error in plain words, technical text beside it


def parse_custom_input(text: str) -> dict:
    """The custom input typed in the run panel as a JSON object, or Invalid saying why not."""
    value = load_json(text or "{}", field="input", what="The input")
    if not isinstance(value, dict):
        raise Invalid("input", 'The input must be a JSON object, e.g. {"data": {}}.')
    return value


def start_run(
    workflow_id: uuid.UUID,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    *,
    source: str,
    custom_text: str | None = None,
    dataclip_id: uuid.UUID | None = None,
    step_id: uuid.UUID | None = None,
) -> Run:
    """Start a manual run from the builder with an empty, custom or stored input."""
    if source == "empty":
        return commands.start_manual_run(
            workflow_id, project_id=project_id, actor_id=actor_id, step_id=step_id
        )
    if source == "custom":
        project_limits.check_input_size(project_id, custom_text or "")
        return commands.start_manual_run(
            workflow_id,
            project_id=project_id,
            actor_id=actor_id,
            custom_input=parse_custom_input(custom_text or ""),
            step_id=step_id,
        )
    if source == "stored":
        if dataclip_id is None:
            raise Invalid("dataclip_id", "Choose a saved input or a recent run's input.")
        return commands.start_manual_run(
            workflow_id,
            project_id=project_id,
            actor_id=actor_id,
            dataclip_id=dataclip_id,
            step_id=step_id,
        )
    raise Invalid("source", "Choose the input: empty, custom JSON, or a stored input.")


def input_choices(workflow_id: uuid.UUID, project_id: uuid.UUID) -> dict[str, list[InputChoice]]:
    """Saved test inputs of the project and the inputs of the workflow's recent runs."""
    saved = db.session.scalars(
        select(Dataclip)
        .where(
            Dataclip.project_id == project_id,
            Dataclip.type == DataclipType.SAVED_INPUT,
            Dataclip.name.isnot(None),
            Dataclip.wiped_at.is_(None),
            Dataclip.not_stored.is_(False),
        )
        .order_by(Dataclip.name)
    )
    recent = db.session.execute(
        select(Run.id, Run.dataclip_id, Run.inserted_at, Run.state)
        .join(Dataclip, Dataclip.id == Run.dataclip_id)
        .where(
            Run.workflow_id == workflow_id,
            Run.project_id == project_id,
            Dataclip.wiped_at.is_(None),
            Dataclip.not_stored.is_(False),
        )
        .order_by(Run.inserted_at.desc())
        .limit(RECENT_RUNS)
    )
    return {
        "saved": [InputChoice(clip.id, clip.name or "") for clip in saved],
        "recent": [
            InputChoice(
                dataclip_id,
                f"Run {str(run_id)[:8]} · {inserted_at:%d %b %H:%M} UTC · {RunState(state).value}",
            )
            for run_id, dataclip_id, inserted_at, state in recent
        ],
    }


def save_input(
    project_id: uuid.UUID,
    name: str,
    *,
    custom_text: str | None = None,
    dataclip_id: uuid.UUID | None = None,
) -> Dataclip:
    """Keep an input as a named test case: typed JSON, or a copy of a stored input."""
    if zero_persistence_settings.is_on(project_id):
        raise Invalid("name", zero_persistence.NO_SAVED_INPUTS)
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("name", "Give the test input a name.")
    if len(name) > MAX_INPUT_NAME:
        raise Invalid("name", f"The name is too long: at most {MAX_INPUT_NAME} characters.")
    taken = db.session.scalar(
        select(Dataclip.id).where(
            Dataclip.project_id == project_id,
            Dataclip.type == DataclipType.SAVED_INPUT,
            Dataclip.name == name,
        )
    )
    if taken is not None:
        raise Invalid("name", f"There already is a test input named {name!r}.")
    if dataclip_id is not None:
        body = _state_of(dataclip_body(project_id, dataclip_id))
    else:
        body = parse_custom_input(custom_text or "")
    clip = Dataclip(project_id=project_id, type=DataclipType.SAVED_INPUT, body=body, name=name)
    db.session.add(clip)
    db.session.commit()
    return clip


def dataclip_body(project_id: uuid.UUID, dataclip_id: uuid.UUID) -> object:
    """The body of a stored input as the run will see it (webhook requests as a state)."""
    clip = db.session.get(Dataclip, dataclip_id)
    if clip is None or clip.project_id != project_id:
        raise NotFound("There is no such input in this project.")
    if clip.wiped_at is not None:
        raise Invalid("input", "This input was wiped by the project's retention policy.")
    if clip.not_stored:
        raise Invalid("input", zero_persistence.NOT_STORED)
    if clip.type is DataclipType.HTTP_REQUEST:
        data = clip.body if clip.body is not None else clip.raw_body
        return {"data": data if data is not None else {}, "request": clip.request or {}}
    return clip.body


def input_preview(project_id: uuid.UUID, dataclip_id: uuid.UUID) -> object:
    """A stored input as the run panel previews it: its body with credential values masked
    (the run itself gets the stored body)."""
    return store.display_scrubber(project_id)(dataclip_body(project_id, dataclip_id))


def shown_input(project_id: uuid.UUID, dataclip_id: uuid.UUID) -> str:
    """`input_preview` as the panel prints it: indented JSON, or for a body over the run
    page's threshold only its start, saying so (a 10 MB body would make a 15 MB page)."""
    large = _large_preview(project_id, dataclip_id, store.display_scrubber(project_id))
    if large is not None:
        return large
    return json.dumps(input_preview(project_id, dataclip_id), indent=2, ensure_ascii=False)


def _large_preview(project_id: uuid.UUID, dataclip_id: uuid.UUID | None, scrub) -> str | None:
    """The start of a dataclip too large to print whole, with a line saying how much of
    how much it is; None for a smaller one (or none at all)."""
    view = dataclip_view(project_id, dataclip_id, scrub)
    if view is None or not view.too_large:
        return None
    note = f"Preview: {view.preview_label}. The run page downloads the whole body."
    return f"{note}\n\n{view.text}"


def _state_of(body: object) -> dict:
    return body if isinstance(body, dict) else {"data": body}


def progress(run_id: uuid.UUID, project_id: uuid.UUID) -> dict:
    """The run's state and each step's latest state, for painting the canvas."""
    run = queries.get_run(run_id, project_id)
    state = RunState(run.state)
    steps: dict[str, dict] = {}
    step_runs = queries.steps_of([run.id])[run.id]
    for step_run in step_runs:
        steps[str(step_run.step_id)] = {
            "state": step_run.exit_reason.value if step_run.exit_reason else "started",
            "step_run_id": str(step_run.id),
            "name": step_run.step_name,
        }
    return {
        "run_id": str(run.id),
        "work_order_id": str(run.work_order_id),
        # A run parked for an automatic retry reads as such, like on the run page.
        "state": retries.WAITING_LABEL if retries.is_waiting(run) else state.value,
        "final": state.is_final,
        "error": _plain_run_error(run, step_runs, project_id),
        "steps": steps,
    }


def _plain_run_error(run: Run, step_runs: list[StepRun], project_id: uuid.UUID) -> dict | None:
    """The run's error in plain words (as a dict: the status fragment is fingerprinted as JSON)."""
    if not (run.error_type or run.error_message):
        return None
    scrub = run_scrubber(project_id, [run.snapshot_id])
    plain = stored_errors.explain_all(run, step_runs, scrub)[0]
    return asdict(plain) if plain is not None else None


def step_detail(
    run_id: uuid.UUID, project_id: uuid.UUID, step_id: uuid.UUID, level: str | None = None
) -> StepDetail:
    """The step's latest step run in the run, with its input, output and logs."""
    run = queries.get_run(run_id, project_id)
    step_runs = [s for s in queries.steps_of([run.id])[run.id] if s.step_id == step_id]
    if not step_runs:
        return StepDetail(None, None, None, [])
    step_run = step_runs[-1]
    # What the history's run page shows passes the same mask (see history_runs).
    scrub = run_scrubber(project_id, [run.snapshot_id])
    logs = [ShownLogLine.of(line, scrub) for line in queries.logs_of(run.id, step_run.id, level)]
    error = stored_errors.step_errors([step_run]).get(step_run.id)
    return StepDetail(
        step_run=step_run,
        input_body=_shown_body(project_id, step_run.input_dataclip_id, scrub),
        output_body=_shown_body(project_id, step_run.output_dataclip_id, scrub),
        logs=logs,
        error=shown_text(scrub, step_run.error_message),
        plain=stored_errors.explained(scrub, error, None) if error else None,
    )


def _shown_body(project_id: uuid.UUID, dataclip_id: uuid.UUID | None, scrub) -> str | None:
    """A step's input or output as its tab prints it (None: there is none to show)."""
    large = _large_preview(project_id, dataclip_id, scrub)
    if large is not None:
        return large
    try:
        body = scrub(dataclip_body(project_id, dataclip_id) if dataclip_id else None)
    except Invalid as error:  # zero persistence says so; a wiped body shows as none
        return error.message if error.message == zero_persistence.NOT_STORED else None
    except NotFound:
        return None
    return None if body is None else json.dumps(body, indent=2, ensure_ascii=False)


def _body_or_none(project_id: uuid.UUID, dataclip_id: uuid.UUID | None) -> object:
    if dataclip_id is None:
        return None
    try:
        return dataclip_body(project_id, dataclip_id)
    except (NotFound, Invalid):
        return None


def input_paths(workflow_id: uuid.UUID, project_id: uuid.UUID, limit: int = 60) -> list[str]:
    """Field paths (data.name, data.address.city) of the workflow's latest input, offered by
    the request builder's 'value from input' pickers."""
    workflows.get_workflow(workflow_id, project_id)
    dataclip_id = db.session.scalar(
        select(Run.dataclip_id)
        .where(Run.workflow_id == workflow_id, Run.dataclip_id.isnot(None))
        .order_by(Run.inserted_at.desc())
        .limit(1)
    )
    if dataclip_id is None:
        return []
    body = _body_or_none(project_id, dataclip_id)
    paths: list[str] = []
    _walk(_state_of(body).get("data"), "data", paths, limit)
    return paths


def _walk(value: object, path: str, paths: list[str], limit: int) -> None:
    if len(paths) >= limit or path in paths:
        return
    paths.append(path)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        # A list of records: offer its first record's fields, since each() works per item.
        for key, child in value[0].items():
            _walk(child, f"{path}.{key}", paths, limit)
    elif isinstance(value, dict):
        for key, child in value.items():
            _walk(child, f"{path}.{key}", paths, limit)
