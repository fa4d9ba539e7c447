"""Rerunning many work orders from a named step: each starts at that step, and one that never
reached it is skipped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import Dataclip, Run, Step
from app.services.errors import Invalid
from app.services.runs import commands
from tests import history_factories as hf


def test_reruns_from_a_step_start_there_and_skip_what_never_reached_it(db, flow, user):
    orders = [hf.work_order(flow, state="failed") for _ in range(3)]
    result = commands.rerun_work_orders(
        [o.id for o in orders], project_id=flow.project_id, actor_id=user.id, step_key="load"
    )
    assert result == {"created": 3, "skipped": 0}
    load = db.session.scalar(select(Step.id).where(Step.workflow_id == flow.id, Step.key == "load"))
    reruns = db.session.scalars(
        select(Run).where(
            Run.work_order_id.in_([o.id for o in orders]), Run.starting_step_id.isnot(None)
        )
    ).all()
    assert [r.starting_step_id for r in reruns] == [load] * 3
    nowhere = commands.rerun_work_orders(
        [o.id for o in orders], project_id=flow.project_id, actor_id=user.id, step_key="nope"
    )
    assert nowhere == {"created": 0, "skipped": 3}


def test_a_wiped_input_is_refused_naming_the_day_it_was_wiped(db, flow, user):
    order = hf.work_order(flow, state="failed")
    clip = db.session.get(Dataclip, order.dataclip_id)
    clip.wiped_at = datetime(2026, 11, 30, 2, 15, tzinfo=UTC)
    db.session.flush()
    with pytest.raises(Invalid) as refused:
        commands.start_manual_run(
            flow.id, project_id=flow.project_id, actor_id=user.id, dataclip_id=clip.id
        )
    assert refused.value.field == "input"
    assert "wiped on 2026-11-30 by the project's retention policy" in refused.value.message
