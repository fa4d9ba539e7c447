"""A project's retention policy: the choices, the rule that dataclip bodies are kept no
longer than the history they belong to, and what a change would remove at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Dataclip, DataclipType, Project, User, WorkOrder, WorkOrderState
from app.models.base import utcnow
from app.services import audit
from app.services import projects as project_service
from app.services.errors import Invalid

ITEM = "project"
# Days a project may keep history or bodies; None keeps them forever.
CHOICES: tuple[int | None, ...] = (7, 14, 30, 90, 180, 365, None)
# Counting what a change removes stops here, so the page stays fast on a huge history.
PREVIEW_CAP = 100_000
OPEN_STATES = (WorkOrderState.PENDING, WorkOrderState.RUNNING)


def label(days: int | None) -> str:
    """How a choice reads on the page: "30 days", or "Forever"."""
    return "Forever" if days is None else f"{days} days"


def parse_choice(field: str, text: str | None) -> int | None:
    """The number of days a form value names ("" or "forever" is None); Invalid otherwise."""
    value = (text or "").strip().lower()
    if value in ("", "forever"):
        return None
    allowed = ", ".join(label(days) for days in CHOICES)
    if not value.isascii() or not value.isdigit() or int(value) not in CHOICES:
        raise Invalid(field, f"Choose one of: {allowed}.")
    return int(value)


def check(history_days: int | None, dataclip_days: int | None) -> None:
    """Refuse a policy that keeps bodies longer than the history they belong to."""
    if history_days is not None and (dataclip_days is None or dataclip_days > history_days):
        raise Invalid(
            "dataclip_retention_days",
            f"Inputs and outputs cannot be kept longer than the history they belong to "
            f"({label(history_days)}): choose {label(history_days)} or less.",
        )


def update(
    actor: User, project_id: uuid.UUID, history_days: int | None, dataclip_days: int | None
) -> Project:
    """Save the project's retention policy; audited with the values before and after."""
    project = project_service.get_project(project_id)
    for field, days in (
        ("history_retention_days", history_days),
        ("dataclip_retention_days", dataclip_days),
    ):
        if days not in CHOICES:
            raise Invalid(field, "Choose one of the listed periods.")
    check(history_days, dataclip_days)
    changes = {}
    for name, value in (
        ("history_retention_days", history_days),
        ("dataclip_retention_days", dataclip_days),
    ):
        before = getattr(project, name)
        if before != value:
            changes[name] = [before, value]
            setattr(project, name, value)
    if changes:
        audit.record(
            ITEM, project.id, "retention_changed", actor.id, changes, project_id=project.id
        )
        db.session.commit()
    return project


@dataclass(frozen=True)
class Preview:
    """What the purge would remove now under a policy: counts capped at PREVIEW_CAP."""

    work_orders: int
    bodies: int

    def sentence(self) -> str:
        """What this leaves for the purge, in words: "3 work orders and 1 body"."""
        more = "more than " if self.capped else ""
        orders = f"{self.work_orders:,} work order{'' if self.work_orders == 1 else 's'}"
        bodies = f"{self.bodies:,} stored " + (
            "input or output" if self.bodies == 1 else "inputs or outputs"
        )
        return f"{more}{orders} to delete and {bodies} to wipe"

    @property
    def capped(self) -> bool:
        """True when either count reached the cap (the page then says "more than")."""
        return PREVIEW_CAP in (self.work_orders, self.bodies)


def preview(project_id: uuid.UUID, history_days: int | None, dataclip_days: int | None) -> Preview:
    """How many work orders and bodies the purge would remove under this policy today."""
    now = utcnow()
    work_orders = bodies = 0
    if history_days is not None:
        expired = (
            select(WorkOrder.id)
            .where(
                WorkOrder.project_id == project_id,
                WorkOrder.last_activity_at < now - timedelta(days=history_days),
                WorkOrder.state.not_in(OPEN_STATES),
            )
            .limit(PREVIEW_CAP)
            .subquery()
        )
        work_orders = db.session.scalar(select(func.count()).select_from(expired)) or 0
    if dataclip_days is not None:
        unwiped = (
            select(Dataclip.id)
            .where(
                Dataclip.project_id == project_id,
                Dataclip.wiped_at.is_(None),
                Dataclip.inserted_at < now - timedelta(days=dataclip_days),
                Dataclip.type != DataclipType.SAVED_INPUT,
            )
            .limit(PREVIEW_CAP)
            .subquery()
        )
        bodies = db.session.scalar(select(func.count()).select_from(unwiped)) or 0
    return Preview(work_orders=work_orders, bodies=bodies)
