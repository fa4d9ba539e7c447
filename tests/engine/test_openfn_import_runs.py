"""An imported OpenFn project runs on the real stack before anyone ports it: once its webhook
is switched on, a request runs the first step as a no-op (the input passes through), and the
edge whose JavaScript condition awaits porting is never taken."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import Trigger, Workflow
from app.services import accounts
from app.services.project_code import openfn
from tests.engine.helpers import post_webhook, wait_for_work_order
from tests.services.project_code.lightning_sample import LIGHTNING_PROJECT


def test_an_imported_workflow_runs_as_a_no_op_and_skips_the_unported_condition(stack):
    with stack.app.app_context():
        owner = accounts.create_user(
            f"openfn-{uuid.uuid4().hex[:6]}@example.org", "correct horse battery staple"
        )
        project, _ = openfn.import_project(LIGHTNING_PROJECT, owner)
        trigger = db.session.scalar(
            select(Trigger)
            .join(Workflow, Trigger.workflow_id == Workflow.id)
            .where(Workflow.project_id == project.id, Workflow.name == "Referral intake")
        )
        assert trigger.enabled is False  # imported switched off
        trigger.enabled = True  # as a person would, on the workflows list
        db.session.commit()
        trigger_id = str(trigger.id)
        db.session.remove()

    accepted = post_webhook(stack, trigger_id, {"id": 7, "urgent": True, "district": "North"})
    assert accepted.status_code == 200
    result = wait_for_work_order(stack, accepted.json()["work_order_id"])
    assert result["state"] == "success"
    assert [s["name"] for s in result["steps"]] == ["Fetch referral"]
    step = result["steps"][0]
    assert step["output"]["data"] == step["input"] == {"id": 7, "urgent": True, "district": "North"}
