"""The retention purge end to end: the scheduler queues it, a real RQ worker wipes expired
bodies and deletes expired history in batches, and a retry that needs a wiped input is
refused over the API with the date it was wiped."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select, update

from app.extensions import db
from app.models import Dataclip, ProjectMember, Run, StepRun, WorkOrder
from app.models.base import utcnow
from app.services import api_tokens
from app.services.retention import policy
from tests.engine.conftest import wait_until
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.engine.test_runs_end_to_end import workflow_yaml
from tests.history_factories import at

STEPS = {
    "tag": ("common@1", 'fn(lambda state: {**state, "data": {**state["data"], "seen": True}})'),
    "send": ("common@1", 'log("sending", S.data["child"])'),
}


def _clip_ids(work_order_id: uuid.UUID) -> list[uuid.UUID]:
    run_ids = select(Run.id).where(Run.work_order_id == work_order_id)
    outputs = db.session.scalars(
        select(StepRun.output_dataclip_id).where(StepRun.run_id.in_(run_ids))
    ).all()
    order = db.session.get(WorkOrder, work_order_id)
    return [order.dataclip_id, *[clip for clip in outputs if clip]]


def _age(work_order_id: uuid.UUID, days: float) -> None:
    """Move a finished work order and its dataclips `days` into the past."""
    db.session.execute(
        update(Dataclip)
        .where(Dataclip.id.in_(_clip_ids(work_order_id)))
        .values(inserted_at=at(days_ago=days))
    )
    db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == work_order_id)
        .values(inserted_at=at(days_ago=days), last_activity_at=at(days_ago=days))
    )
    db.session.commit()


def test_the_purge_wipes_old_bodies_deletes_old_history_and_keeps_the_rest(stack):
    flow = new_workflow(
        stack, workflow_yaml("Retention", STEPS, [("hook", "tag", "always", None),
                                                  ("tag", "send", "on_job_success", None)])
    )  # fmt: skip
    orders = {}
    for name in ("expired", "wiped", "recent"):
        reply = post_webhook(stack, flow["triggers"]["hook"], {"child": f"{name} child"})
        assert reply.status_code in (200, 201, 202), reply.text
        orders[name] = uuid.UUID(reply.json()["work_order_id"])
        assert wait_for_work_order(stack, str(orders[name]))["state"] == "success"

    with stack.app.app_context():
        _age(orders["expired"], 40)
        _age(orders["wiped"], 10)
        owner_id = db.session.scalar(
            select(ProjectMember.user_id).where(ProjectMember.project_id == flow["project_id"])
        )
        from app.models import User

        owner = db.session.get(User, owner_id)
        _, token = api_tokens.create_token(owner.id, "retention test")
        expired_runs = db.session.scalars(
            select(Run.id).where(Run.work_order_id == orders["expired"])
        ).all()
        wiped_run = db.session.scalar(select(Run).where(Run.work_order_id == orders["wiped"]))
        wiped_run_id = wiped_run.id
        send_step = uuid.UUID(flow["steps"]["send"])
        policy.update(owner, flow["project_id"], 30, 7)
        db.session.remove()

    def purged():
        with stack.app.app_context():
            gone = db.session.get(WorkOrder, orders["expired"]) is None
            clips = db.session.scalars(
                select(Dataclip).where(Dataclip.id.in_(_clip_ids(orders["wiped"])))
            ).all()
            wiped = clips and all(clip.wiped_at is not None for clip in clips)
            db.session.remove()
            return gone and wiped

    wait_until(purged, "the scheduler and a worker to purge the expired rows", 60)

    with stack.app.app_context():
        assert not db.session.scalars(select(Run).where(Run.id.in_(expired_runs))).all()
        wiped = db.session.scalars(
            select(Dataclip).where(Dataclip.id.in_(_clip_ids(orders["wiped"])))
        ).all()
        assert all(c.body is None and c.raw_body is None and c.request is None for c in wiped)
        assert all(c.wiped_at <= utcnow() for c in wiped)
        wiped_on = wiped[0].wiped_at
        recent = db.session.scalars(
            select(Dataclip).where(Dataclip.id.in_(_clip_ids(orders["recent"])))
        ).all()
        assert recent and all(c.wiped_at is None and c.body is not None for c in recent)
        assert db.session.get(WorkOrder, orders["wiped"]) is not None  # history is kept
        db.session.remove()

    retry = httpx.post(
        f"{stack.base_url}/api/v1/runs/{wiped_run_id}/retry",
        json={"step_id": str(send_step)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert retry.status_code == 422, retry.text
    assert f"wiped on {wiped_on:%Y-%m-%d}" in retry.text
    assert "retention" in retry.text
