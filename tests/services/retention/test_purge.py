"""The retention purge: bodies wiped after the dataclip limit, history deleted after the
history limit, in batches, never touching what an unfinished run may still read."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.extensions import db as _db
from app.models import AuditEvent, Dataclip, DataclipType, LogLine, Run, StepRun, WorkOrder
from app.services.retention import purge
from tests import history_factories as made


def _keep(project, history=None, dataclips=None):
    project.history_retention_days = history
    project.dataclip_retention_days = dataclips
    _db.session.commit()


def _age_clips(order, days):
    """Make every dataclip of the work order (input and step results) `days` old."""
    run_ids = select(Run.id).where(Run.work_order_id == order.id)
    clip_ids = select(StepRun.output_dataclip_id).where(StepRun.run_id.in_(run_ids))
    _db.session.execute(
        update(Dataclip)
        .where((Dataclip.id == order.dataclip_id) | Dataclip.id.in_(clip_ids))
        .values(inserted_at=made.at(days_ago=days))
    )
    _db.session.commit()


def _bodies(order):
    run_ids = select(Run.id).where(Run.work_order_id == order.id)
    clip_ids = select(StepRun.output_dataclip_id).where(StepRun.run_id.in_(run_ids))
    rows = _db.session.execute(
        select(Dataclip.body, Dataclip.request, Dataclip.wiped_at).where(
            (Dataclip.id == order.dataclip_id) | Dataclip.id.in_(clip_ids)
        )
    ).all()
    _db.session.expire_all()
    return rows


def test_bodies_older_than_the_dataclip_limit_are_wiped_and_their_history_stays(flow, project):
    _keep(project, history=30, dataclips=7)
    old = made.work_order(flow, received=made.at(days_ago=10), body={"child": "Amina"})
    _age_clips(old, 10)
    young = made.work_order(flow, received=made.at(days_ago=2), body={"child": "Juma"})

    result = purge.purge(pause_s=0)

    assert result.wiped == 3 and result.work_orders == 0 and result.finished
    assert all(body is None and request is None and wiped for body, request, wiped in _bodies(old))
    assert all(wiped is None for _, _, wiped in _bodies(young))
    assert _db.session.get(WorkOrder, old.id) is not None  # the history itself is kept


def test_history_older_than_its_limit_goes_with_runs_steps_logs_and_dataclips(flow, project):
    _keep(project, history=7, dataclips=7)
    old = made.work_order(
        flow, received=made.at(days_ago=9), logs=[("info", "sent to DHIS2")], body={"a": 1}
    )
    _age_clips(old, 9)
    old_id = old.id
    run_ids = [r.id for r in _db.session.scalars(select(Run).where(Run.work_order_id == old_id))]
    young = made.work_order(flow, received=made.at(days_ago=1))
    young_id = young.id

    result = purge.purge(pause_s=0)

    assert result.work_orders == 1 and result.dataclips == 3
    _db.session.expire_all()
    assert _db.session.get(WorkOrder, old_id) is None
    assert _db.session.scalar(select(func.count()).where(Run.id.in_(run_ids))) == 0
    assert _db.session.scalar(select(func.count()).where(StepRun.run_id.in_(run_ids))) == 0
    assert _db.session.scalar(select(func.count()).where(LogLine.run_id.in_(run_ids))) == 0
    assert _db.session.get(WorkOrder, young_id) is not None


def test_a_long_running_work_order_is_judged_by_its_last_activity(flow, project):
    _keep(project, history=7, dataclips=7)
    order = made.work_order(flow, received=made.at(days_ago=20), activity=made.at(days_ago=1))
    assert purge.purge(pause_s=0).work_orders == 0
    assert _db.session.get(WorkOrder, order.id) is not None


def test_an_unfinished_run_keeps_its_input_and_its_work_order(flow, project):
    _keep(project, history=7, dataclips=7)
    waiting = made.work_order(flow, state="pending", received=made.at(days_ago=30))
    _age_clips(waiting, 30)

    result = purge.purge(pause_s=0)

    assert result.wiped == 0 and result.work_orders == 0 and result.dataclips == 0
    clip = _db.session.get(Dataclip, waiting.dataclip_id)
    assert clip.wiped_at is None and clip.body == {}


def test_saved_inputs_are_not_history(flow, project):
    _keep(project, history=7, dataclips=7)
    saved = Dataclip(
        project_id=project.id,
        type=DataclipType.SAVED_INPUT,
        name="A typical case",
        body={"case": 1},
        inserted_at=made.at(days_ago=400),
    )
    _db.session.add(saved)
    _db.session.commit()
    purge.purge(pause_s=0)
    assert _db.session.get(Dataclip, saved.id).body == {"case": 1}


def test_a_project_without_a_policy_keeps_everything(flow, project):
    order = made.work_order(flow, received=made.at(days_ago=900))
    _age_clips(order, 900)
    assert purge.purge(pause_s=0).projects == []
    assert all(wiped is None for _, _, wiped in _bodies(order))


def test_the_work_is_done_in_batches_and_stops_at_the_time_budget(flow, project):
    _keep(project, history=30, dataclips=7)
    orders = [made.work_order(flow, received=made.at(days_ago=10)) for _ in range(3)]
    for order in orders:
        _age_clips(order, 10)

    stopped = purge.purge(batch=2, pause_s=0, budget_s=0)
    assert not stopped.finished and stopped.wiped == 0

    first = purge.wipe_bodies(project.id, made.at(days_ago=7), batch=2)
    assert first == 2
    rest = purge.purge(batch=2, pause_s=0)
    assert rest.finished and rest.wiped == 9 - 2


def test_audit_entries_are_not_history(flow, project, user):
    from app.services import audit

    _keep(project, history=7, dataclips=7)
    audit.record("project", project.id, "updated", user.id, {}, project_id=project.id)
    _db.session.commit()
    _db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.project_id == project.id)
        .values(last_activity_at=made.at(days_ago=100))
    )
    purge.purge(pause_s=0)
    assert _db.session.scalar(select(func.count()).where(AuditEvent.project_id == project.id)) == 1


def test_the_purge_is_queued_once_while_one_is_waiting(flow, project, app):
    from rq.job import Job

    from app.extensions import DEFAULT_QUEUE, queue

    _keep(project, history=30, dataclips=7)
    connection = queue(DEFAULT_QUEUE).connection
    connection.delete(f"rq:job:{purge.JOB_ID}")
    try:
        assert purge.queue_purge() is True
        assert purge.queue_purge() is False
        assert Job.fetch(purge.JOB_ID, connection=connection).func_name == purge.JOB
    finally:
        queue(DEFAULT_QUEUE).remove(purge.JOB_ID)
        connection.delete(f"rq:job:{purge.JOB_ID}")


def test_a_body_never_stored_is_not_marked_wiped(flow, project):
    _keep(project, history=30, dataclips=7)
    order = made.work_order(flow, received=made.at(days_ago=10))
    _age_clips(order, 10)
    clip = _db.session.get(Dataclip, order.dataclip_id)
    clip.body, clip.not_stored = None, True  # as zero persistence leaves it
    _db.session.commit()
    purge.purge(pause_s=0)
    _db.session.expire_all()
    assert _db.session.get(Dataclip, order.dataclip_id).wiped_at is None  # still "Not stored"
