"""The Studio (workflow builder): the workflows list, saving the canvas, and its checks.

Every change to a workflow's graph goes through `workflows.replace_workflow`, so the builder,
the API and YAML import share one validation path; this module adds what only the builder
needs: list statistics, node positions, renames, the enabled switch, and the canvas checks
that collect every problem at once instead of stopping at the first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, exists, func, select

from app.extensions import db
from app.models import (
    Credential,
    ProjectCredential,
    Run,
    RunState,
    Trigger,
    TriggerType,
    Workflow,
    WorkOrder,
)
from app.services import time_zones
from app.services.credentials import forms
from app.services.errors import Invalid
from app.services.studio import versions
from app.services.triggers import cron, cron_words
from app.services.workflows import export, store

FAILURE_STATES = (
    RunState.FAILED,
    RunState.CRASHED,
    RunState.KILLED,
    RunState.EXCEPTION,
    RunState.LOST,
)
MAX_POSITIONS = 500


@dataclass
class WorkflowRow:
    """One line of the workflows list."""

    workflow: Workflow
    trigger_types: list[str]
    enabled: bool
    last_state: str | None
    last_run_at: datetime | None
    runs_7d: int
    failures_7d: int


@dataclass(frozen=True)
class WorkflowSummary:
    """One workflow on the project overview: how it starts and how it last went."""

    id: uuid.UUID
    name: str
    trigger_types: tuple[str, ...]  # "webhook", "cron"
    enabled: bool
    last_state: str | None  # of its newest work order (the state of that one's last run)
    last_activity_at: datetime | None


@dataclass
class CredentialChoice:
    """A credential shared into the project, as the step panel's picker shows it."""

    name: str
    schema: str
    production: bool

    @property
    def type_label(self) -> str:
        """The credential's type in words ("DHIS2", "Raw JSON")."""
        return forms.type_label(self.schema)


def workflow_rows(project_id: uuid.UUID, now: datetime | None = None) -> list[WorkflowRow]:
    """The project's workflows with last run and 7-day counts (one grouped query for all)."""
    since = (now or datetime.now(UTC)) - timedelta(days=7)
    ranked = (
        select(
            Run.workflow_id,
            Run.state,
            Run.inserted_at,
            func.row_number()
            .over(partition_by=Run.workflow_id, order_by=(Run.inserted_at.desc(), Run.id.desc()))
            .label("rank"),
        )
        .where(Run.project_id == project_id)
        .subquery()
    )
    recent = ranked.c.inserted_at >= since
    failed = ranked.c.state.in_([s.value for s in FAILURE_STATES])
    stats = {
        row.workflow_id: row
        for row in db.session.execute(
            select(
                ranked.c.workflow_id,
                func.max(case((ranked.c.rank == 1, ranked.c.state))).label("last_state"),
                func.max(ranked.c.inserted_at).label("last_run_at"),
                func.sum(case((recent, 1), else_=0)).label("runs"),
                func.sum(case((recent & failed, 1), else_=0)).label("failures"),
            ).group_by(ranked.c.workflow_id)
        )
    }
    rows = []
    for workflow in store.list_workflows(project_id):
        stat = stats.get(workflow.id)
        rows.append(
            WorkflowRow(
                workflow=workflow,
                trigger_types=sorted({t.type.value for t in workflow.triggers}),
                enabled=any(t.enabled for t in workflow.triggers),
                last_state=str(stat.last_state) if stat and stat.last_state else None,
                last_run_at=stat.last_run_at if stat else None,
                runs_7d=int(stat.runs or 0) if stat else 0,
                failures_7d=int(stat.failures or 0) if stat else 0,
            )
        )
    return rows


def workflow_summaries(project_id: uuid.UUID) -> list[WorkflowSummary]:
    """The project's workflows by name with trigger kinds, on/off and their newest work
    order, in one statement (each correlated lookup walks an index, never the whole history).
    """
    newest = (
        select(WorkOrder.state, WorkOrder.last_activity_at)
        .where(WorkOrder.workflow_id == Workflow.id)
        .order_by(WorkOrder.inserted_at.desc())
        .limit(1)
        .correlate(Workflow)
    )

    def has_trigger(*conditions) -> exists:
        return exists().where(Trigger.workflow_id == Workflow.id, *conditions)

    rows = db.session.execute(
        select(
            Workflow.id,
            Workflow.name,
            has_trigger(Trigger.type == TriggerType.WEBHOOK).label("webhook"),
            has_trigger(Trigger.type == TriggerType.CRON).label("cron"),
            has_trigger(Trigger.enabled.is_(True)).label("enabled"),
            newest.with_only_columns(WorkOrder.state).scalar_subquery().label("last_state"),
            newest.with_only_columns(WorkOrder.last_activity_at).scalar_subquery().label("last_at"),
        )
        .where(Workflow.project_id == project_id, Workflow.deleted_at.is_(None))
        .order_by(Workflow.name)
    )
    return [
        WorkflowSummary(
            id=row.id,
            name=row.name,
            trigger_types=tuple(kind for kind in ("webhook", "cron") if getattr(row, kind)),
            enabled=bool(row.enabled),
            last_state=str(row.last_state) if row.last_state else None,
            last_activity_at=row.last_at,
        )
        for row in rows
    ]


def new_workflow(project_id: uuid.UUID, name: str, actor_id: uuid.UUID | None) -> Workflow:
    """An empty workflow named `name` (Invalid("name") when empty or taken)."""
    if not (name or "").strip():
        raise Invalid("name", "Give the workflow a name.")
    return store.create_workflow(project_id, {"name": name}, actor_id)


def import_workflow(project_id: uuid.UUID, text: str, actor_id: uuid.UUID | None) -> Workflow:
    """A workflow created from pasted YAML or JSON; errors name the bad field."""
    if not (text or "").strip():
        raise Invalid("", "Paste a workflow document (YAML or JSON) first.")
    return store.create_workflow(project_id, text, actor_id)


def rename_workflow(
    workflow_id: uuid.UUID, project_id: uuid.UUID, name: str, actor_id: uuid.UUID | None
) -> Workflow:
    """Give the workflow a new name (a new snapshot, like any other change)."""
    workflow = store.get_workflow(workflow_id, project_id)
    if not (name or "").strip():
        raise Invalid("name", "Give the workflow a name.")
    document = export.export_document(workflow)
    document["name"] = name
    return store.replace_workflow(workflow.id, document, actor_id=actor_id)


def set_enabled(
    workflow_id: uuid.UUID, project_id: uuid.UUID, enabled: bool, actor_id: uuid.UUID | None
) -> Workflow:
    """Switch all of the workflow's triggers on or off."""
    workflow = store.get_workflow(workflow_id, project_id)
    if not workflow.triggers:
        raise Invalid("enabled", "This workflow has no trigger to switch on: add one first.")
    document = export.export_document(workflow)
    for trigger in document["triggers"].values():
        trigger["enabled"] = enabled
    return store.replace_workflow(workflow.id, document, actor_id=actor_id)


def save_canvas(
    workflow_id: uuid.UUID,
    project_id: uuid.UUID,
    document: object,
    positions: object,
    expected_version: int,
    actor_id: uuid.UUID | None,
    *,
    message: object = None,
) -> Workflow:
    """Save the builder's document as a new snapshot, refusing a stale `expected_version`
    (Conflict), then keep the node positions; `message` is the author's words for it."""
    if not isinstance(document, dict):
        raise Invalid("", "The builder sent no workflow document.")
    clean_positions = _clean_positions(positions)
    words = versions.check_message(message)
    # The one document check runs in replace_workflow: its first error names the path.
    saved = store.replace_workflow(
        workflow_id,
        document,
        project_id=project_id,
        expected_version=expected_version,
        actor_id=actor_id,
        message=words,
    )
    # Positions are layout only: they need no snapshot, so they are written after the save.
    saved.positions = clean_positions
    db.session.commit()
    return store.get_workflow(saved.id)


def save_positions(workflow_id: uuid.UUID, project_id: uuid.UUID, positions: object) -> None:
    """Keep where the nodes are on the canvas: {"job:<key>": {"x": .., "y": ..}}."""
    workflow = store.get_workflow(workflow_id, project_id)
    workflow.positions = _clean_positions(positions)
    db.session.commit()


def _clean_positions(positions: object) -> dict:
    if positions is None:
        return {}
    if not isinstance(positions, dict) or len(positions) > MAX_POSITIONS:
        raise Invalid("positions", "Node positions must be a mapping of node to x and y.")
    clean = {}
    for node, point in positions.items():
        try:
            x, y = round(float(point["x"]), 1), round(float(point["y"]), 1)
            clean[str(node)[:120]] = {"x": x, "y": y}
        except (TypeError, KeyError, ValueError):
            raise Invalid("positions", f"The position of {node!r} is not a pair x, y.") from None
    return clean


def shared_credentials(project_id: uuid.UUID) -> list[CredentialChoice]:
    """The credentials shared into the project, by name, with type and production marker."""
    rows = db.session.execute(
        select(Credential.name, Credential.schema, Credential.production)
        .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
        .where(ProjectCredential.project_id == project_id)
        .order_by(Credential.name)
    )
    return [CredentialChoice(name, schema, production) for name, schema, production in rows]


def cron_preview(expression: str, timezone: str = "UTC", now: datetime | None = None) -> list:
    """The next five fire times of a cron expression, or Invalid with a plain reason."""
    from croniter import croniter

    expression = (expression or "").strip()
    if not expression:
        raise Invalid("cron_expression", "Type a cron expression, e.g. 0 2 * * * for 02:00 daily.")
    if not croniter.is_valid(expression):
        raise Invalid(
            "cron_expression",
            f"“{expression}” is not a valid cron expression: use five fields, "
            "minute hour day-of-month month day-of-week (e.g. 30 6 * * 1 for Mondays 06:30).",
        )
    zone = time_zones.check(timezone or "UTC", "cron_timezone")
    return cron.next_ticks(expression, zone, now or datetime.now(UTC), 5)


def trigger_words(workflow: Workflow, time_format: str = "24h") -> dict[str, str]:
    """Each saved cron trigger's schedule in words, by trigger key, for the canvas labels."""
    return {
        t.key: cron_words.describe(t.cron_expression or "", t.cron_timezone, time_format)
        for t in workflow.triggers
        if t.type is TriggerType.CRON
    }
