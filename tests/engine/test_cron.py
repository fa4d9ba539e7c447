"""Cron triggers: exactly one work order per tick with two schedulers, right across DST."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import WorkOrder
from app.services.triggers import cron
from tests.engine.helpers import new_workflow

CRON_DOC = """
name: Nightly {n}
triggers:
  nightly:
    type: cron
    cron_expression: "30 2 * * *"
    cron_timezone: Europe/Berlin
    cron_input: empty
jobs:
  step:
    name: step
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  nightly->step:
    source_trigger: nightly
    target_job: step
"""


def tick_ids(stack, workflow_id) -> list[datetime]:
    with stack.app.app_context():
        ticks = db.session.scalars(
            select(WorkOrder.cron_tick_at)
            .where(WorkOrder.workflow_id == workflow_id)
            .order_by(WorkOrder.cron_tick_at)
        ).all()
        db.session.remove()
    return [t.astimezone(UTC) for t in ticks]


def tick_from_two_schedulers(stack, now: datetime) -> None:
    """Two schedulers (separate connections) tick at the same moment."""
    barrier = threading.Barrier(2)

    failures = []

    def scheduler():
        with stack.app.app_context():
            barrier.wait()
            try:
                cron.tick(now)
            except Exception as error:  # surfaced below: a thread's exception is otherwise lost
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_two_schedulers_create_each_tick_once_across_dst(stack):
    workflow = new_workflow(stack, CRON_DOC.format(n=uuid.uuid4().hex[:6]))
    # Moments after the trigger was created (and in the future, so the stack's own
    # scheduler, ticking in real time, has nothing due). Berlin leaves winter time on
    # 2027-03-28: 02:30 local is 01:30 UTC before and 00:30 UTC after.
    moments = [
        datetime(2027, 3, 27, 1, 31, tzinfo=UTC),  # 02:31 CET on the 27th: due
        datetime(2027, 3, 27, 1, 45, tzinfo=UTC),  # same tick again: nothing new
        datetime(2027, 3, 29, 0, 31, tzinfo=UTC),  # 02:31 CEST on the 29th: due
    ]
    for now in moments:
        tick_from_two_schedulers(stack, now)
    ticks = tick_ids(stack, workflow["id"])
    assert ticks[0] == datetime(2027, 3, 27, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert ticks[-1] == datetime(2027, 3, 29, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert len(ticks) == len(set(ticks)) == 2


def test_latest_tick_and_next_ticks_follow_local_time():
    now = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    upcoming = cron.next_ticks("0 9 * * *", "Europe/Berlin", now, 3)
    # Berlin returns to winter time on 2026-10-25: 09:00 local moves from 07:00 to 08:00 UTC.
    assert [t.astimezone(UTC).hour for t in upcoming] == [7, 8, 8]
    assert cron.latest_tick("0 9 * * *", "Europe/Berlin", now) == datetime(
        2026, 10, 23, 7, 0, tzinfo=UTC
    )
