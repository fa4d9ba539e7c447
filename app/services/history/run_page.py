"""The run page: a run's steps as a timeline, a step's input and output, and its logs.

Everything shown from stored data (dataclip bodies, errors, log lines) passes through the
display scrubber first: the runtime masks credential values before storing, and this is the
second line, for a value that slipped through or a credential shared after the run.

Long because the page's parts (run, step, dataclips, logs, masking) are read together and
share one masker; the retry facts already live in `runs.retries`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Dataclip,
    LogLevel,
    LogLine,
    LogSource,
    Run,
    Step,
    StepRun,
    Trigger,
    User,
    Workflow,
    WorkflowSnapshot,
    WorkOrder,
)
from app.scrub import Scrubber
from app.services.credentials import store
from app.services.errors import Invalid, NotFound
from app.services.history.json_preview import human_size, indent_prefix
from app.services.history.search import shown_contains
from app.services.runs import retries, stored_errors

Scrub = Callable[[object], object]

# Bodies above this (characters of their JSON text) are not drawn as a tree nor rendered
# whole: the page shows a preview of their first PREVIEW_CHARS, indented, and a download
# link for the whole body (a 10 MB body would make a page of tens of MB).
MAX_TREE_CHARS = 64 * 1024
PREVIEW_CHARS = 20_000
MAX_LOG_LINES = 2000
# A preview is read this much longer than shown and cut after masking, so a credential
# value straddling the cut is masked whole instead of showing its first characters.
SCRUB_MARGIN = 8192
LEVELS = tuple(level.value for level in LogLevel)


@dataclass(frozen=True)
class RunView:
    """Everything the run page says about a run besides one step's data."""

    run: Run
    work_order: WorkOrder
    workflow_name: str
    steps: list[StepRun]
    step_keys: dict[uuid.UUID, str]  # step id -> key, for steps still in the workflow
    started_by: str  # a person's name, or the trigger that started it
    snapshot_version: int
    snapshot_is_latest: bool

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        run = self.run
        if run.started_at and run.finished_at:
            return (run.finished_at - run.started_at).total_seconds()
        return None


@dataclass(frozen=True)
class DataclipView:
    """A dataclip ready to show: its body, or why it cannot be shown whole."""

    id: uuid.UUID
    type: str
    size: int  # characters of its text form
    wiped_at: datetime | None
    body: object | None  # the parsed JSON, when small enough to draw as a tree
    text: str | None  # a raw (non-JSON) body, or the start of a body too large for a tree

    shown: int = 0  # characters of the body shown, when it is previewed
    not_stored: bool = False  # never stored: the project keeps no bodies (zero persistence)

    @property
    def too_large(self) -> bool:
        """True when only the start of the body is shown."""
        return self.size > MAX_TREE_CHARS

    @property
    def preview_label(self) -> str:
        """ "first 20 KB of 9.5 MB": how much of the body the preview shows."""
        return f"first {human_size(self.shown)} of {human_size(self.size)}"


@dataclass(frozen=True)
class ShownLogLine:
    """A log line as pages show it (its message masked)."""

    id: uuid.UUID
    step_run_id: uuid.UUID | None
    level: LogLevel
    source: LogSource
    message: str
    timestamp: datetime

    @classmethod
    def of(cls, line: LogLine, scrub: Scrub) -> ShownLogLine:
        """`line` with its message masked by `scrub`."""
        message = str(scrub(line.message))
        return cls(line.id, line.step_run_id, line.level, line.source, message, line.timestamp)


@dataclass(frozen=True)
class LogView:
    """Log lines in time order, and whether more matched than are shown."""

    lines: list[ShownLogLine]
    more: bool


def run_masker(project_id: uuid.UUID, snapshot_ids: Iterable[uuid.UUID]) -> Scrubber:
    """The scrubber of every value of the project's credentials and of those the steps of
    these workflow versions used (a credential may have been unshared since the run)."""
    used: set[uuid.UUID] = set()
    for definition in db.session.scalars(
        select(WorkflowSnapshot.definition).where(WorkflowSnapshot.id.in_(set(snapshot_ids)))
    ):
        for step in (definition or {}).get("steps") or []:
            if step.get("credential_id"):
                used.add(uuid.UUID(str(step["credential_id"])))
    return store.display_masker(project_id, used)


def run_scrubber(project_id: uuid.UUID, snapshot_ids: Iterable[uuid.UUID]) -> Scrub:
    """Masks what `run_masker` knows, in any JSON value or text."""
    return run_masker(project_id, snapshot_ids).scrub_json


def shown_text(scrub: Scrub, text: str | None) -> str | None:
    """`text` (an error, a log line) masked for display."""
    return None if text is None else str(scrub(text))


def run_view(project_id: uuid.UUID, run_id: uuid.UUID) -> RunView:
    """The run with its work order, steps, who started it and on which snapshot."""
    run = db.session.get(Run, run_id)
    if run is None or run.project_id != project_id:
        raise NotFound("There is no such run in this project.")
    work_order = db.session.get(WorkOrder, run.work_order_id)
    workflow_name = db.session.scalar(select(Workflow.name).where(Workflow.id == run.workflow_id))
    steps = list(
        db.session.scalars(
            select(StepRun).where(StepRun.run_id == run.id).order_by(StepRun.started_at, StepRun.id)
        )
    )
    step_keys = dict(
        db.session.execute(
            select(Step.id, Step.key).where(Step.workflow_id == run.workflow_id)
        ).all()
    )
    version = db.session.scalar(
        select(WorkflowSnapshot.lock_version).where(WorkflowSnapshot.id == run.snapshot_id)
    )
    latest = db.session.scalar(
        select(func.max(WorkflowSnapshot.lock_version)).where(
            WorkflowSnapshot.workflow_id == run.workflow_id
        )
    )
    return RunView(
        run=run,
        work_order=work_order,
        workflow_name=workflow_name or "(deleted workflow)",
        steps=steps,
        step_keys=step_keys,
        started_by=_started_by(run),
        snapshot_version=version or 0,
        snapshot_is_latest=version == latest,
    )


def selected_step(view: RunView, step_run_id: uuid.UUID | None) -> StepRun | None:
    """The step run the page shows: the one asked for, else the first that failed (and was
    not retried), else the last one."""
    if step_run_id is not None:
        for step in view.steps:
            if step.id == step_run_id:
                return step
        raise NotFound("That step did not run in this run.")
    # An attempt that was retried is not where the run failed (a later attempt decides).
    failed = [
        s
        for s in view.steps
        if s.exit_reason and s.exit_reason.value != "success" and s.retry_at is None
    ]
    return failed[0] if failed else (view.steps[-1] if view.steps else None)


def dataclip_view(
    project_id: uuid.UUID, dataclip_id: uuid.UUID | None, scrub: Scrub | None = None
) -> DataclipView | None:
    """A dataclip of the project, loading its body only when it is small enough to draw,
    masked by `scrub` (by default the project's credentials)."""
    if dataclip_id is None:
        return None
    body_text = sa.cast(Dataclip.body, sa.Text)
    row = db.session.execute(
        select(
            Dataclip.id,
            Dataclip.type,
            Dataclip.wiped_at,
            func.coalesce(func.length(Dataclip.raw_body), func.length(body_text), 0),
            Dataclip.raw_body.isnot(None),
            Dataclip.not_stored,
        ).where(Dataclip.id == dataclip_id, Dataclip.project_id == project_id)
    ).first()
    if row is None:
        return None
    clip_id, clip_type, wiped_at, size, is_raw, not_stored = row
    if not_stored:
        return DataclipView(clip_id, clip_type.value, 0, None, None, None, not_stored=True)
    if wiped_at is not None:
        return DataclipView(clip_id, clip_type.value, 0, wiped_at, None, None)
    scrub = scrub or store.display_scrubber(project_id)
    if is_raw or size > MAX_TREE_CHARS:
        text = Dataclip.raw_body if is_raw else body_text
        # A raw body small enough is shown whole; a larger one (any type) by its start.
        limit = PREVIEW_CHARS if size > MAX_TREE_CHARS else MAX_TREE_CHARS
        start = db.session.scalar(
            select(func.substr(text, 1, limit + SCRUB_MARGIN)).where(Dataclip.id == clip_id)
        )
        shown = str(scrub(start or ""))[:limit]
        text = shown if is_raw else indent_prefix(shown)
        return DataclipView(clip_id, clip_type.value, size, None, None, text, len(shown))
    body = db.session.scalar(select(Dataclip.body).where(Dataclip.id == clip_id))
    return DataclipView(clip_id, clip_type.value, size, None, scrub(body), None)


def run_logs(
    project_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    step_run_id: uuid.UUID | None = None,
    level: str | None = None,
    text: str = "",
    masker: Scrubber | None = None,
) -> LogView:
    """A run's log lines (of one step run, at or above `level`, containing `text` as shown),
    masked by `masker` (by default: the credentials of the project and of the run's steps).
    A credential value, or part of one, never matches `text`: lines are shown masked."""
    owner, snapshot_id = db.session.execute(
        select(Run.project_id, Run.snapshot_id).where(Run.id == run_id)
    ).first() or (None, None)
    if owner != project_id:
        raise NotFound("There is no such run in this project.")
    query = select(LogLine).where(LogLine.run_id == run_id)
    if step_run_id is not None:
        query = query.where(LogLine.step_run_id == step_run_id)
    if level:
        if level not in LEVELS:
            raise Invalid("level", f"Choose one of {', '.join(LEVELS)}.")
        query = query.where(LogLine.level.in_(LEVELS[LEVELS.index(level) :]))
    if text.strip():
        masker = masker or run_masker(project_id, [snapshot_id])
        query = query.where(shown_contains(LogLine.message, text.strip(), masker))
    lines = list(
        db.session.scalars(query.order_by(LogLine.timestamp, LogLine.id).limit(MAX_LOG_LINES + 1))
    )
    if lines and masker is None:
        masker = run_masker(project_id, [snapshot_id])
    shown = [ShownLogLine.of(line, masker.scrub_json) for line in lines[:MAX_LOG_LINES]]
    return LogView(shown, len(lines) > MAX_LOG_LINES)


@dataclass(frozen=True)
class RunPage:
    """The run page: the run, the selected step with its input and output, and logs."""

    view: RunView
    step: StepRun | None
    input: DataclipView | None
    output: DataclipView | None
    logs: LogView
    run_error: str | None  # the run's and the step's error messages, masked
    step_error: str | None
    run_plain: stored_errors.PlainError | None = None  # the same, in plain words
    step_plain: stored_errors.PlainError | None = None
    # Automatic retries: the next attempt, who gave up; each attempt's error by step run id.
    retry: retries.RetryView | None = None
    step_plains: dict[uuid.UUID, stored_errors.PlainError] = field(default_factory=dict)


def run_page(
    project_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    step_run_id: uuid.UUID | None = None,
    all_logs: bool = False,
    level: str | None = None,
    text: str = "",
) -> RunPage:
    """Everything the run page shows, for the selected (or most telling) step."""
    view = run_view(project_id, run_id)
    step = selected_step(view, step_run_id)
    masker = run_masker(project_id, [view.run.snapshot_id])
    scrub = masker.scrub_json
    logs = run_logs(
        project_id,
        run_id,
        step_run_id=step.id if step is not None and not all_logs else None,
        level=level,
        text=text,
        masker=masker,
    )
    run_error = shown_text(scrub, view.run.error_message)
    run_plain, step_plains = stored_errors.explain_all(view.run, view.steps, scrub)
    retry = retries.retry_view(view.run, view.steps)
    if step is None:
        clip = dataclip_view(project_id, view.run.dataclip_id, scrub)
        return RunPage(view, None, clip, None, logs, run_error, None, run_plain, None, retry)
    return RunPage(
        view,
        step,
        dataclip_view(project_id, step.input_dataclip_id, scrub),
        dataclip_view(project_id, step.output_dataclip_id, scrub),
        logs,
        run_error,
        shown_text(scrub, step.error_message),
        run_plain,
        step_plains.get(step.id),
        retry,
        step_plains,
    )


def pretty(value: object) -> str:
    """JSON indented for reading."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _started_by(run: Run) -> str:
    if run.created_by_id is not None:
        user = db.session.get(User, run.created_by_id)
        if user is not None:
            return user.display_name
    if run.starting_trigger_id is not None:
        trigger = db.session.get(Trigger, run.starting_trigger_id)
        if trigger is not None:
            kind = "webhook" if trigger.type.value == "webhook" else "schedule"
            return f"the {kind} trigger “{trigger.key}”"
    return "the platform"
