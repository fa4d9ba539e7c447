"""What a failure alert says, for any channel: the facts of a failed run, with every
credential value and every value of the run's input masked, and how they read as mail.

No dataclip body goes into an alert and no log line unless the project asks for the last
20; the error message and those lines are scrubbed of the credential values (the project's
and the steps') and of the input's values, since a step may print either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Dataclip,
    LogLine,
    Project,
    Run,
    StepExitReason,
    StepRun,
    Workflow,
    WorkflowSnapshot,
)
from app.scrub import MIN_SECRET_LENGTH, Scrubber
from app.services.credentials.store import display_masker
from app.services.history.filters import STATES, HistoryFilter
from app.services.runs import stored_errors
from app.services.runs.plain_errors import PlainError

LOG_LINES = 20
ERROR_LIMIT = 2000
LINE_LIMIT = 500
STATE_WORDS = {
    "failed": "failed",
    "crashed": "crashed",
    "killed": "was stopped (time or memory limit)",
    "exception": "was stopped by an error in Ferry",
    "lost": "was lost (its worker stopped)",
}
UNSUCCESSFUL = tuple(s for s in STATES if s not in {"pending", "running", "success"})


@dataclass
class AlertFacts:
    """A failed run as an alert tells it; every text field already scrubbed."""

    project_id: uuid.UUID
    project_name: str
    workflow_id: uuid.UUID
    workflow_name: str
    run_id: uuid.UUID
    state: str
    step_name: str | None
    error: str
    finished_at: datetime
    run_url: str
    history_url: str
    log_lines: list[str] = field(default_factory=list)
    # The error in plain words and what to check first; `error` stays the technical text.
    error_plain: str = ""
    error_check: str = ""

    @property
    def subject(self) -> str:
        """ "[Ferry] Patient sync failed in Clinic intake"."""
        words = STATE_WORDS.get(self.state, self.state)
        return f"[Ferry] {self.workflow_name} {words} in {self.project_name}"


def base_url() -> str:
    return current_app.config["FERRY_SETTINGS"].base_url


def run_url(project_id: uuid.UUID, run_id: uuid.UUID) -> str:
    return f"{base_url()}/projects/{project_id}/runs/{run_id}"


def history_url(
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    start: datetime | None = None,
    end: datetime | None = None,
) -> str:
    """The history filtered to the workflow's unsuccessful work orders (and to the UTC days
    from `start` to `end`, the finest the history filters)."""
    wanted = HistoryFilter(
        states=UNSUCCESSFUL if start else (),
        workflow_id=workflow_id,
        activity_from=start.date() if start else None,
        activity_to=end.date() if end else None,
    )
    return f"{base_url()}/projects/{project_id}/history?{urlencode(wanted.to_args(), doseq=True)}"


def facts_for_run(run_id: uuid.UUID, *, include_logs: bool | None = None) -> AlertFacts | None:
    """The alert facts of a finished run, or None when the run, workflow or project is gone."""
    run = db.session.get(Run, run_id)
    if run is None or run.finished_at is None:
        return None
    project = db.session.get(Project, run.project_id)
    workflow = db.session.get(Workflow, run.workflow_id)
    if project is None or workflow is None:
        return None
    scrubber = run_scrubber(run)
    failing = db.session.scalars(
        select(StepRun)
        .where(StepRun.run_id == run.id, StepRun.exit_reason != StepExitReason.SUCCESS)
        .order_by(StepRun.started_at.desc())
        .limit(1)
    ).first()
    error_type = run.error_type or (failing.error_type if failing else None)
    message = run.error_message or (failing.error_message if failing else None) or ""
    error = f"{error_type}: {message}" if error_type and message else error_type or message
    plain = _plain_error(run, failing, scrubber)
    if include_logs is None:
        include_logs = project.alert_include_logs
    lines = []
    if include_logs:
        rows = db.session.scalars(
            select(LogLine)
            .where(LogLine.run_id == run.id)
            .order_by(LogLine.timestamp.desc(), LogLine.id.desc())
            .limit(LOG_LINES)
        ).all()
        lines = [_cut(scrubber.scrub_text(line.message), LINE_LIMIT) for line in reversed(rows)]
    return AlertFacts(
        project_id=project.id,
        project_name=project.name,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        run_id=run.id,
        state=run.state.value,
        step_name=failing.step_name if failing else None,
        error=_cut(scrubber.scrub_text(error or "No error message."), ERROR_LIMIT),
        finished_at=run.finished_at,
        run_url=run_url(project.id, run.id),
        history_url=history_url(project.id, workflow.id),
        log_lines=lines,
        error_plain=_cut(plain.sentence, ERROR_LIMIT) if plain else "",
        error_check=plain.check if plain else "",
    )


def _plain_error(run: Run, failing: StepRun | None, scrubber: Scrubber) -> PlainError | None:
    """The run's error (or its failing step's) in plain words, masked like the rest."""
    step_runs = list(
        db.session.scalars(
            select(StepRun).where(StepRun.run_id == run.id).order_by(StepRun.started_at)
        )
    )
    run_plain, step_plains = stored_errors.explain_all(run, step_runs, scrubber.scrub_json)
    plain = run_plain or (step_plains.get(failing.id) if failing else None)
    if plain is None:
        return None
    # Details (a value that was not a list, an answer excerpt) may quote the input: mask
    # the finished sentence too, as the technical text is.
    return replace(
        plain,
        sentence=scrubber.scrub_text(plain.sentence),
        check=scrubber.scrub_text(plain.check),
    )


def run_scrubber(run: Run) -> Scrubber:
    """Masks the run's credential values (the project's and its steps') and the string
    values of its input."""
    credential_ids = set()
    snapshot = db.session.get(WorkflowSnapshot, run.snapshot_id)
    for step in (snapshot.definition or {}).get("steps", []) if snapshot else []:
        if step.get("credential_id"):
            credential_ids.add(uuid.UUID(step["credential_id"]))
    masker = display_masker(run.project_id, credential_ids)
    values: list[str] = []
    if run.dataclip_id is not None:
        clip = db.session.get(Dataclip, run.dataclip_id)
        if clip is not None:
            collect_values(clip.body, values)
            collect_values(clip.raw_body, values)
    return Scrubber([*masker.secrets, *values])


def local_time(moment: datetime, time_zone: str, *, with_date: bool = True) -> str:
    """`moment` in the member's time zone ("2 Dec 2026, 02:05 (Europe/Berlin)")."""
    zone = zone_of(time_zone)
    local = moment.astimezone(zone)
    if not with_date:
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b %Y, %H:%M')} ({zone.key})"


def zone_of(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def headline(facts: AlertFacts) -> str:
    """ "Patient sync failed in Clinic intake."."""
    return (
        f"{facts.workflow_name} {STATE_WORDS.get(facts.state, facts.state)} "
        f"in {facts.project_name}."
    )


def collect_values(value: object, found: list[str]) -> None:
    """Collect the string (and long number) values of a JSON value, at any depth: what an
    input may carry about a person, masked in alerts and digests alike."""
    if isinstance(value, str):
        if len(value) >= MIN_SECRET_LENGTH:
            found.append(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        if len(str(value)) >= 6:
            found.append(str(value))
    elif isinstance(value, dict):
        for child in value.values():
            collect_values(child, found)
    elif isinstance(value, list | tuple):
        for child in value:
            collect_values(child, found)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
