"""Bulk reruns: the request is a row, the job moves the row's counts batch by batch, and the
progress survives Redis losing everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from app.extensions import DEFAULT_QUEUE
from app.models import BulkRerun, BulkRerunState, Run, RunState
from app.models.base import utcnow
from app.services.errors import Invalid, NotFound
from app.services.runs import bulk_reruns, commands
from tests import factories
from tests import history_factories as hf
from workers import jobs


@pytest.fixture
def default_queue(settings):
    redis = Redis.from_url(settings.redis_url)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")
    return Queue(DEFAULT_QUEUE, connection=redis)


def _start(project, orders, user=None) -> dict:
    return bulk_reruns.start(
        project.id,
        actor_id=user.id if user else None,
        work_order_ids=[str(o.id) for o in orders],
        filters=None,
        step_key=None,
    )


def test_a_bulk_rerun_is_a_row_and_its_job_carries_only_the_row_id(
    project, flow, user, db, default_queue
):
    orders = [hf.work_order(flow, state="failed") for _ in range(3)]
    accepted = _start(project, orders, user)
    assert accepted["work_orders"] == 3
    row = db.session.get(BulkRerun, accepted["bulk_rerun_id"])
    assert (row.project_id, row.requested_by_id, row.total, row.done) == (
        project.id,
        user.id,
        3,
        0,
    )
    assert row.state is BulkRerunState.QUEUED
    [job] = default_queue.get_jobs()
    assert job.func_name == bulk_reruns.BULK_JOB and job.args == (str(row.id),)


def test_counts_are_right_after_the_job_finishes(project, flow, db, default_queue):
    orders = [hf.work_order(flow, state="failed") for _ in range(4)]
    hf.add_run(orders[0], "available")  # still waiting: its rerun is skipped, not doubled
    db.session.commit()
    bulk_id = _start(project, orders)["bulk_rerun_id"]
    project_id = project.id  # the job below ends the test's session, as a worker's would
    jobs.bulk_rerun(bulk_id)  # as the worker runs it
    assert bulk_reruns.progress(project_id, bulk_id) == {
        "total": 4,
        "done": 4,
        "created": 3,
        "skipped": 1,
        "state": "finished",
    }
    row = db.session.get(BulkRerun, bulk_id)
    assert row.finished_at is not None and row.error is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Run)) == 4 + 1 + 3


def test_progress_survives_a_redis_flush_in_the_middle(
    project, flow, db, settings, monkeypatch, default_queue
):
    monkeypatch.setattr(bulk_reruns, "BATCH", 2)
    orders = [hf.work_order(flow, state="failed") for _ in range(5)]
    bulk_id = _start(project, orders)["bulk_rerun_id"]
    assert bulk_reruns.run_batch(bulk_id) is True  # one batch, then the worker goes away
    Redis.from_url(settings.redis_url).flushdb()
    assert bulk_reruns.progress(project.id, bulk_id) == {
        "total": 5,
        "done": 2,
        "created": 2,
        "skipped": 0,
        "state": "running",
    }
    project_id = project.id
    jobs.bulk_rerun(bulk_id)  # the rest, by whichever worker picks it up again
    assert bulk_reruns.progress(project_id, bulk_id)["done"] == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Run)) == 5 + 5


def test_the_job_writes_the_row_once_per_batch_not_per_work_order(
    project, flow, db, monkeypatch, default_queue
):
    monkeypatch.setattr(bulk_reruns, "BATCH", 2)
    orders = [hf.work_order(flow, state="failed") for _ in range(5)]
    bulk_id = _start(project, orders)["bulk_rerun_id"]
    updates = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE BULK_RERUNS"):
            updates.append(statement)

    engine = db.session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        jobs.bulk_rerun(bulk_id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    # start (running) + 3 batches + finish
    assert len(updates) == 1 + 3 + 1


def test_a_job_that_fails_leaves_the_row_failed_with_a_reason(
    project, flow, db, monkeypatch, default_queue
):
    orders = [hf.work_order(flow, state="failed") for _ in range(2)]
    bulk_id = _start(project, orders)["bulk_rerun_id"]

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(bulk_reruns.commands, "rerun_work_orders", broken)
    with pytest.raises(RuntimeError):
        jobs.bulk_rerun(bulk_id)
    row = db.session.get(BulkRerun, bulk_id)
    assert row.state is BulkRerunState.FAILED and "RuntimeError" in row.error
    assert row.done == 0 and row.finished_at is not None


def test_a_stalled_bulk_rerun_can_be_resumed_and_only_the_rest_is_rerun(
    project, flow, db, monkeypatch, default_queue
):
    monkeypatch.setattr(bulk_reruns, "BATCH", 2)
    orders = [hf.work_order(flow, state="failed") for _ in range(3)]
    bulk_id = _start(project, orders)["bulk_rerun_id"]
    project_id = project.id
    bulk_reruns.run_batch(bulk_id)  # then the worker dies: the row stays running
    default_queue.empty()
    assert bulk_reruns.resume(project_id, bulk_id) is False  # it moved a moment ago
    assert default_queue.count == 0
    row = db.session.get(BulkRerun, bulk_id)
    row.updated_at = utcnow() - bulk_reruns.STALLED_AFTER - timedelta(seconds=1)
    db.session.commit()
    assert bulk_reruns.is_stalled(row)
    assert bulk_reruns.resume(project_id, bulk_id) is True
    assert bulk_reruns.resume(project_id, bulk_id) is False  # a double click queues one job
    [job] = default_queue.get_jobs()
    assert job.args == (bulk_id,)
    jobs.bulk_rerun(bulk_id)
    assert bulk_reruns.progress(project_id, bulk_id) == {
        "total": 3,
        "done": 3,
        "created": 3,
        "skipped": 0,
        "state": "finished",
    }
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Run)) == 3 + 3


def test_another_projects_bulk_rerun_is_not_found(project, flow, default_queue):
    bulk_id = _start(project, [hf.work_order(flow, state="failed")])["bulk_rerun_id"]
    other = factories.project(factories.user())
    for project_id, key in ((other.id, bulk_id), (project.id, "not-an-id")):
        with pytest.raises(NotFound):
            bulk_reruns.progress(project_id, key)
        with pytest.raises(NotFound):
            bulk_reruns.resume(project_id, key)


def test_a_filter_that_matches_nothing_finishes_at_once(project, flow, db, default_queue):
    accepted = bulk_reruns.start(
        project.id, actor_id=None, work_order_ids=None, filters={"state": "failed"}, step_key=None
    )
    assert accepted["work_orders"] == 0
    assert bulk_reruns.progress(project.id, accepted["bulk_rerun_id"])["state"] == "finished"
    assert default_queue.count == 0


def test_unknown_work_orders_store_nothing(project, flow, db, default_queue):
    theirs = hf.work_order(hf.workflow(factories.project(factories.user())), state="failed")
    with pytest.raises(Invalid) as error:
        _start(project, [hf.work_order(flow, state="failed"), theirs])
    assert error.value.field == "work_order_ids"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BulkRerun)) == 0
    assert default_queue.count == 0


def test_a_worker_dying_between_its_reruns_and_the_row_does_not_rerun_them_twice(
    project, flow, db, default_queue
):
    """The reruns commit one by one and the row moves after them: a worker killed in between
    left items whose reruns exist. Resuming counts them and creates no second rerun."""
    orders = [hf.work_order(flow, state="success") for _ in range(3)]
    bulk_id = _start(project, orders)["bulk_rerun_id"]
    project_id = project.id
    # What the dead worker did before it died: rerun two of the batch, row not moved.
    commands.rerun_work_orders([o.id for o in orders[:2]], project_id=project_id, actor_id=None)
    runs_before = db.session.scalar(sa.select(sa.func.count()).select_from(Run))
    for run in db.session.scalars(sa.select(Run)):  # the reruns finished meanwhile
        run.state = RunState.SUCCESS
    db.session.commit()
    jobs.bulk_rerun(bulk_id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Run)) == runs_before + 1
    progress = bulk_reruns.progress(project_id, bulk_id)
    assert (progress["done"], progress["created"], progress["state"]) == (3, 3, "finished")
