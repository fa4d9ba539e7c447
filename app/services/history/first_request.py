"""What the empty history offers: the project's webhooks, to send the first request to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Trigger, TriggerType, WebhookAuth, Workflow


@dataclass(frozen=True)
class Webhook:
    """A webhook trigger of a live workflow, as the first-request guide names it."""

    workflow_id: uuid.UUID
    workflow_name: str
    trigger: Trigger

    @property
    def needs_auth(self) -> bool:
        """True when callers must send an API key or a username and password."""
        return self.trigger.webhook_auth is not WebhookAuth.NONE


def project_webhooks(project_id: uuid.UUID, limit: int = 5) -> list[Webhook]:
    """The webhook triggers of the project's workflows, enabled ones first, by name."""
    rows = db.session.execute(
        select(Workflow.id, Workflow.name, Trigger)
        .join(Trigger, Trigger.workflow_id == Workflow.id)
        .where(
            Workflow.project_id == project_id,
            Workflow.deleted_at.is_(None),
            Trigger.type == TriggerType.WEBHOOK,
        )
        .order_by(Trigger.enabled.desc(), Workflow.name, Trigger.key)
        .limit(limit)
    ).all()
    return [Webhook(workflow_id, name, trigger) for workflow_id, name, trigger in rows]
