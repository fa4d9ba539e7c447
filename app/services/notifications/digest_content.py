"""What a digest says: per workflow, the work orders that succeeded and failed in a period
and the most frequent error messages (the mail itself is app/templates/mail/digest.*).

One aggregate query per project and period gives every workflow's counts and top errors.
Error messages are masked of the project's credential values and of the string values of
the input of a run that had that error (a step may print either), and cut short, so no
dataclip value reaches a digest.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Dataclip, Run, WorkflowSnapshot
from app.scrub import Scrubber
from app.services.credentials.store import display_masker
from app.services.history.filters import HistoryFilter
from app.services.notifications.alert_content import collect_values
from app.services.runs import queries, stored_errors

TOP_ERRORS = 3
_QUOTED = re.compile(r"""(['"])(?:(?!\1).){1,300}\1""")
_LONG_NUMBER = re.compile(r"\d{6,}")
ERROR_LIMIT = 300
# What counts as unsuccessful (cancelled is someone's choice, not a failure).
UNSUCCESSFUL = ("failed", "crashed", "killed", "exception", "lost")

_AGGREGATE = sa.text(
    """
    SELECT workflow_id, 'state' AS kind, state::text AS label, count(*) AS n, NULL AS sample
      FROM work_orders
     WHERE project_id = :project AND inserted_at >= :start AND inserted_at < :end
     GROUP BY workflow_id, state
    UNION ALL
    SELECT workflow_id, 'error', label, n, sample FROM (
        SELECT workflow_id,
               coalesce(nullif(error_message, ''), error_type, 'No error message') AS label,
               count(*) AS n,
               (array_agg(id ORDER BY inserted_at DESC))[1]::text AS sample,
               row_number() OVER (
                   PARTITION BY workflow_id
                   ORDER BY count(*) DESC,
                            coalesce(nullif(error_message, ''), error_type, 'No error message')
               ) AS rank
          FROM runs
         WHERE project_id = :project AND inserted_at >= :start AND inserted_at < :end
           AND state::text IN :unsuccessful
         GROUP BY workflow_id, label
    ) AS ranked
     WHERE rank <= :top
    """
).bindparams(sa.bindparam("unsuccessful", expanding=True))


@dataclass
class WorkflowDigest:
    """One workflow's period: counts, top errors (masked) and links."""

    workflow_id: uuid.UUID
    name: str
    succeeded: int = 0
    unsuccessful: int = 0
    other: int = 0
    # (technical message, count, the sample run's error in plain words or "" if none fits)
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    history_url: str = ""
    failures_url: str = ""


def project_digest(
    project_id: uuid.UUID, workflows: dict[uuid.UUID, str], start: datetime, end: datetime
) -> list[WorkflowDigest]:
    """Every workflow of the project (`workflows`: id -> name) over [start, end)."""
    result = {
        wid: WorkflowDigest(
            wid,
            name,
            history_url=history_url(project_id, wid, start, end),
            failures_url=history_url(project_id, wid, start, end, failures=True),
        )
        for wid, name in workflows.items()
    }
    rows = db.session.execute(
        _AGGREGATE,
        {
            "project": project_id,
            "start": start,
            "end": end,
            "unsuccessful": list(UNSUCCESSFUL),
            "top": TOP_ERRORS,
        },
    ).all()
    errors: list[tuple[WorkflowDigest, str, int, str]] = []
    for workflow_id, kind, label, count, sample in rows:
        digest = result.get(workflow_id)
        if digest is None:
            continue  # a deleted workflow
        if kind == "state":
            if label == "success":
                digest.succeeded += count
            elif label in UNSUCCESSFUL:
                digest.unsuccessful += count
            else:
                digest.other += count
        else:
            errors.append((digest, label, count, sample))
    samples = [uuid.UUID(sample) for *_, sample in errors]
    scrubbers = _scrubbers(project_id, samples)
    plain = _plain_errors(samples)
    for digest, label, count, sample in errors:
        masker = scrubbers[uuid.UUID(sample)]
        words = plain.get(uuid.UUID(sample), "")
        digest.errors.append((_clean(masker, label), count, _clean(masker, words) if words else ""))
    for digest in result.values():
        digest.errors.sort(key=lambda item: (-item[1], item[0]))
    return sorted(result.values(), key=lambda d: d.name.lower())


def history_url(
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    failures: bool = False,
) -> str:
    """The history page filtered to the workflow and the UTC days the period touches."""
    wanted = HistoryFilter(
        states=UNSUCCESSFUL if failures else (),
        workflow_id=workflow_id,
        received_from=start.astimezone(UTC).date(),
        received_to=(end - timedelta(microseconds=1)).astimezone(UTC).date(),
    )
    base = current_app.config["FERRY_SETTINGS"].base_url
    return f"{base}/projects/{project_id}/history?{urlencode(wanted.to_args(), doseq=True)}"


def _plain_errors(run_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The plain sentence of each sample run's error, when one fits better than the generic
    one (masked by the caller like the technical text)."""
    if not run_ids:
        return {}
    runs = db.session.scalars(sa.select(Run).where(Run.id.in_(run_ids))).all()
    steps = queries.steps_of([run.id for run in runs])
    found = {}
    for run in runs:
        plain = stored_errors.explain_all(run, steps[run.id], lambda value: value)[0]
        if plain is not None and plain.code != "unknown":
            found[run.id] = plain.sentence
    return found


def _scrubbers(project_id: uuid.UUID, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, _Masker]:
    """A masker per sample run: the project's and its steps' credential values and the
    string values of that run's input. Two queries, however many errors."""
    if not run_ids:
        return {}
    rows = db.session.execute(
        sa.select(Run.id, Dataclip.body, Dataclip.raw_body, WorkflowSnapshot.definition)
        .outerjoin(Dataclip, Dataclip.id == Run.dataclip_id)
        .outerjoin(WorkflowSnapshot, WorkflowSnapshot.id == Run.snapshot_id)
        .where(Run.id.in_(run_ids))
    ).all()
    credential_ids = {
        uuid.UUID(step["credential_id"])
        for *_, definition in rows
        for step in (definition or {}).get("steps", [])
        if step.get("credential_id")
    }
    secrets = display_masker(project_id, credential_ids).secrets
    scrubbers = {}
    for run_id, body, raw_body, _definition in rows:
        values: list[str] = []
        collect_values(body, values)
        collect_values(raw_body, values)
        scrubbers[run_id] = _Masker(Scrubber([*secrets, *values]), body or raw_body)
    return scrubbers


@dataclass(frozen=True)
class _Masker:
    scrubber: Scrubber
    # False when the input is gone (retention, deleted): its values are unknown, so every
    # quoted part and long number of the message is masked instead.
    input_known: object


def _clean(masker: _Masker | None, message: str) -> str:
    text = " ".join((message or "").split())
    if masker is not None:
        text = masker.scrubber.scrub_text(text)
    if masker is None or not masker.input_known:
        text = _QUOTED.sub(lambda m: f"{m[1]}***{m[1]}", text)
        text = _LONG_NUMBER.sub("***", text)
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"
