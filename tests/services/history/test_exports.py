"""History exports: the zip holds exactly the filtered history as JSON Lines (dataclips only
when asked, wiped ones without a body, credentials masked), the requester is mailed, bad
input is refused with a sentence, and a lapsed or silent export never lingers."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.extensions import DEFAULT_QUEUE, db
from app.models import (
    AuditEvent,
    Dataclip,
    HistoryExport,
    HistoryExportPart,
    HistoryExportState,
    MailMessage,
    ProjectMember,
    Role,
    Run,
)
from app.models.base import utcnow
from app.services.errors import Conflict, Invalid, NotFound
from app.services.history.exports import build as export_build
from app.services.history.exports import lifecycle as exports
from app.services.history.exports import records as export_records
from tests import factories
from tests import history_factories as hf


@pytest.fixture(autouse=True)
def empty_queue(settings):
    Redis.from_url(settings.redis_url).delete(f"rq:queue:{DEFAULT_QUEUE}")


def export(user, project, include_dataclips=False, **args) -> uuid.UUID:
    """Ask for an export of `args` (the history page's query arguments) and build it."""
    export_id = exports.request_export(user.id, project.id, MultiDict(args), include_dataclips)
    export_build.build(export_id)
    return export_id


def read_zip(project, export_id, user=None) -> dict[str, list | dict]:
    """The export's zip opened: manifest.json parsed, each .jsonl as a list of records."""
    found = exports.download(project.id, export_id, user.id if user else None)
    data = b"".join(found.chunks)
    assert len(data) == found.size
    files = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            text = archive.read(name).decode()
            if name.endswith(".jsonl"):
                files[name] = [json.loads(line) for line in text.splitlines()]
            else:
                files[name] = json.loads(text)
    return files


def test_the_zip_holds_the_work_orders_runs_steps_logs_and_a_manifest(user, project, flow):
    orders = [
        hf.work_order(flow, state="failed", received=hf.at(minutes_ago=n), logs=[("info", "hi")])
        for n in range(3)
    ]
    export_id = export(user, project)

    files = read_zip(project, export_id, user)
    assert sorted(files) == [
        "logs.jsonl",
        "manifest.json",
        "runs.jsonl",
        "steps.jsonl",
        "work_orders.jsonl",
    ]
    assert [w["id"] for w in files["work_orders.jsonl"]] == [str(o.id) for o in orders]
    first = files["work_orders.jsonl"][0]
    assert first["state"] == "failed" and first["workflow_name"] == "Patient sync"
    assert first["trigger_type"] == "webhook" and first["received_at"].startswith("20")
    assert len(files["runs.jsonl"]) == 3 and len(files["steps.jsonl"]) == 6
    assert {r["work_order_id"] for r in files["runs.jsonl"]} == {str(o.id) for o in orders}
    assert {s["step_name"] for s in files["steps.jsonl"]} == {"Fetch cases", "Load cases"}
    assert [line["message"] for line in files["logs.jsonl"]] == ["hi"] * 3
    manifest = files["manifest.json"]
    assert manifest["project"]["name"] == "Clinic intake"
    assert manifest["counts"] == {
        "work_orders.jsonl": 3,
        "runs.jsonl": 3,
        "steps.jsonl": 6,
        "logs.jsonl": 3,
    }
    row = db.session.get(HistoryExport, export_id)
    assert (row.state, row.total, row.done) == (HistoryExportState.READY, 3, 3)
    assert row.expires_at - row.finished_at == timedelta(days=1)
    assert row.size_bytes == len(b"".join(exports.download(project.id, export_id, None).chunks))


def test_batches_follow_the_keyset_and_export_every_work_order_once(
    user, project, flow, monkeypatch
):
    monkeypatch.setattr(export_build, "BATCH", 2)
    same_moment = hf.at(minutes_ago=5)
    orders = [hf.work_order(flow, received=same_moment) for _ in range(3)]
    orders += [hf.work_order(flow, received=hf.at(minutes_ago=n)) for n in range(2)]
    files = read_zip(project, export(user, project))
    ids = [w["id"] for w in files["work_orders.jsonl"]]
    assert sorted(ids) == sorted(str(o.id) for o in orders) and len(set(ids)) == 5


def test_the_filter_is_honoured(user, project, flow):
    other_flow = hf.workflow(project, "Other flow")
    failed = hf.work_order(flow, state="failed", received=hf.at(days_ago=1))
    hf.work_order(flow, state="success", received=hf.at(days_ago=1))
    hf.work_order(other_flow, state="failed", received=hf.at(days_ago=1))
    hf.work_order(flow, state="failed", received=hf.at(days_ago=40))
    day = hf.at(days_ago=1).date().isoformat()
    export_id = export(
        user, project, state="failed", workflow=str(flow.id), received_from=day, received_to=day
    )
    files = read_zip(project, export_id)
    assert [w["id"] for w in files["work_orders.jsonl"]] == [str(failed.id)]
    assert files["manifest.json"]["filter"]["state"] == ["failed"]
    assert exports.get(project.id, export_id).filter_summary == (
        f"failed · Patient sync · received {day} to {day}"
    )


def test_a_search_filter_is_honoured(user, project, flow):
    wanted = hf.work_order(flow, body={"patient": "Amina Wanjiru"})
    hf.work_order(flow, body={"patient": "Someone else"})
    files = read_zip(project, export(user, project, q="Wanjiru"))
    assert [w["id"] for w in files["work_orders.jsonl"]] == [str(wanted.id)]


def test_dataclips_are_exported_only_when_asked(user, project, flow):
    order = hf.work_order(flow, body={"patient": "Amina"})
    assert "dataclips.jsonl" not in read_zip(project, export(user, project))

    files = read_zip(project, export(user, project, include_dataclips=True))
    clips = {c["id"]: c for c in files["dataclips.jsonl"]}
    assert clips[str(order.dataclip_id)]["body"] == {"patient": "Amina"}
    assert clips[str(order.dataclip_id)]["type"] == "http_request"
    assert clips[str(order.dataclip_id)]["request"]["method"] == "POST"
    outputs = {s["output_dataclip_id"] for s in files["steps.jsonl"]}
    assert outputs <= set(clips) and len(clips) == 3  # the input and two step outputs


def test_a_raw_body_is_exported_as_text(user, project, flow):
    order = hf.work_order(flow, raw_body="name=Amina&age=31")
    files = read_zip(project, export(user, project, include_dataclips=True))
    clip = next(c for c in files["dataclips.jsonl"] if c["id"] == str(order.dataclip_id))
    assert clip["raw_body"] == "name=Amina&age=31" and "body" not in clip


def test_a_wiped_dataclip_exports_its_id_and_when_only(user, project, flow):
    order = hf.work_order(flow, body={"patient": "Amina"})
    clip = db.session.get(Dataclip, order.dataclip_id)
    clip.body, clip.request, clip.wiped_at = None, None, utcnow()
    db.session.commit()
    files = read_zip(project, export(user, project, include_dataclips=True))
    (wiped,) = [c for c in files["dataclips.jsonl"] if c["id"] == str(order.dataclip_id)]
    assert set(wiped) == {"id", "wiped_at"}


def test_a_saved_input_shared_by_many_work_orders_is_written_once(user, project, flow, monkeypatch):
    monkeypatch.setattr(export_build, "BATCH", 1)
    orders = [hf.work_order(flow) for _ in range(3)]
    saved = Dataclip(project_id=project.id, type="saved_input", name="Test", body={"x": 1})
    db.session.add(saved)
    db.session.flush()
    for order in orders:
        order.dataclip_id = saved.id
    db.session.commit()
    files = read_zip(project, export(user, project, include_dataclips=True))
    assert [c["id"] for c in files["dataclips.jsonl"]].count(str(saved.id)) == 1


def test_credential_values_are_masked_in_logs_errors_and_dataclips(user, project, flow):
    factories.shared_dhis2_credential(user, project, "s3cret-pa55word")
    order = hf.work_order(
        flow,
        state="failed",
        body={"password": "s3cret-pa55word"},
        logs=[("info", "logging in with s3cret-pa55word")],
    )
    run = db.session.scalars(select(Run).where(Run.work_order_id == order.id)).one()
    run.error_message = "refused s3cret-pa55word"
    db.session.commit()
    files = read_zip(project, export(user, project, include_dataclips=True))
    everything = json.dumps(files)
    assert "s3cret-pa55word" not in everything
    assert files["logs.jsonl"][0]["message"] == "logging in with ***"
    assert files["runs.jsonl"][0]["error_message"] == "refused ***"


def test_an_empty_filter_result_is_a_ready_export_with_empty_files(user, project, flow):
    hf.work_order(flow, state="success")
    export_id = export(user, project, state="crashed")
    files = read_zip(project, export_id)
    assert files["work_orders.jsonl"] == [] and files["manifest.json"]["counts"]["runs.jsonl"] == 0
    assert db.session.get(HistoryExport, export_id).state is HistoryExportState.READY


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"state": "bogus"}, "state"),
        ({"workflow": "not-an-id"}, "workflow"),
        ({"received_from": "2024-13-40"}, "received_from"),
        ({"received_from": "2024-05-02", "received_to": "2024-05-01"}, "received_to"),
        ({"q": "ab"}, "q"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_argument(user, project, args, field):
    with pytest.raises(Invalid) as refused:
        exports.request_export(user.id, project.id, MultiDict(args), False)
    assert refused.value.field == field and refused.value.message
    assert db.session.scalar(select(func.count()).select_from(HistoryExport)) == 0


def test_a_request_is_audited_with_the_filter_in_words(user, project, flow):
    export_id = exports.request_export(user.id, project.id, MultiDict({"state": "failed"}), True)
    entry = db.session.scalars(select(AuditEvent).where(AuditEvent.item_id == export_id)).one()
    assert (entry.event, entry.actor_id, entry.project_id) == ("requested", user.id, project.id)
    assert entry.changes == {"filter": "failed", "include_dataclips": True}


def test_more_than_three_open_exports_are_refused(user, project):
    for _ in range(exports.MAX_OPEN_PER_PROJECT):
        exports.request_export(user.id, project.id, MultiDict(), False)
    with pytest.raises(Conflict, match="3 exports on the way"):
        exports.request_export(user.id, project.id, MultiDict(), False)


def test_another_projects_export_is_not_found(user, project, flow):
    export_id = export(user, project)
    elsewhere = factories.project(user, "Elsewhere")
    with pytest.raises(NotFound):
        exports.download(elsewhere.id, export_id, user.id)
    with pytest.raises(NotFound):
        exports.get(elsewhere.id, export_id)
    with pytest.raises(NotFound):
        exports.get(project.id, uuid.uuid4())


def test_an_unfinished_export_cannot_be_downloaded(user, project):
    export_id = exports.request_export(user.id, project.id, MultiDict(), False)
    with pytest.raises(Conflict, match="not ready"):
        exports.download(project.id, export_id, user.id)


def test_a_lapsed_export_is_gone_and_the_sweep_deletes_its_parts(user, project, flow):
    hf.work_order(flow)
    export_id = export(user, project)
    row = db.session.get(HistoryExport, export_id)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert exports.get(project.id, export_id).expired
    with pytest.raises(exports.ExportExpired, match="expired"):
        exports.download(project.id, export_id, user.id)

    assert exports.sweep() == 1
    db.session.expire_all()
    assert db.session.get(HistoryExport, export_id).state is HistoryExportState.EXPIRED
    parts = select(func.count()).where(HistoryExportPart.export_id == export_id)
    assert db.session.scalar(parts) == 0
    with pytest.raises(exports.ExportExpired):
        exports.download(project.id, export_id, user.id)
    assert exports.sweep() == 0


def test_a_silent_open_export_is_marked_failed_by_the_sweep(user, project):
    export_id = exports.request_export(user.id, project.id, MultiDict(), False)
    row = db.session.get(HistoryExport, export_id)
    row.state, row.updated_at = HistoryExportState.RUNNING, utcnow() - timedelta(hours=2)
    fresh = exports.request_export(user.id, project.id, MultiDict(), False)
    db.session.commit()
    assert exports.sweep() == 1
    db.session.expire_all()
    assert db.session.get(HistoryExport, export_id).state is HistoryExportState.FAILED
    assert "Request it again" in exports.get(project.id, export_id).error
    assert db.session.get(HistoryExport, fresh).state is HistoryExportState.QUEUED


def test_a_failing_job_marks_the_export_failed_in_plain_words(user, project, flow, monkeypatch):
    hf.work_order(flow)

    def broken(*args, **kwargs):
        raise RuntimeError("patient Amina broke it")

    monkeypatch.setattr(export_records, "write_batch", broken)
    export_id = exports.request_export(user.id, project.id, MultiDict(), False)
    with pytest.raises(RuntimeError):
        export_build.build(export_id)
    view = exports.get(project.id, export_id)
    assert view.state == "failed" and "RuntimeError" in view.error and "Amina" not in view.error
    assert not view.open


def test_the_requester_is_mailed_a_link_that_works_for_a_day(user, project, flow):
    hf.work_order(flow)
    export_id = export(user, project, include_dataclips=True)
    mail = db.session.scalars(select(MailMessage).where(MailMessage.to_address == user.email)).one()
    assert mail.subject == "[Ferry] Your history export of Clinic intake is ready"
    assert f"/projects/{project.id}/history/exports/{export_id}/download" in mail.text
    assert "works for a day" in mail.text and "personal data" in mail.text


def test_a_requester_removed_from_the_project_is_not_mailed(user, project, flow):
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    export_id = exports.request_export(viewer.id, project.id, MultiDict(), False)
    db.session.execute(ProjectMember.__table__.delete().where(ProjectMember.user_id == viewer.id))
    db.session.commit()
    export_build.build(export_id)
    assert db.session.get(HistoryExport, export_id).state is HistoryExportState.READY
    to_viewer = select(MailMessage).where(MailMessage.to_address == viewer.email)
    assert db.session.scalars(to_viewer).all() == []


def test_a_job_given_up_on_by_the_sweep_does_not_turn_ready(user, project, flow, monkeypatch):
    hf.work_order(flow)
    export_id = exports.request_export(user.id, project.id, MultiDict(), False)
    real_write = export_records.write_batch

    def slow_write(*args, **kwargs):
        real_write(*args, **kwargs)
        # Meanwhile the scheduler saw the row silent for over an hour.
        row = db.session.get(HistoryExport, export_id)
        row.updated_at = utcnow() - timedelta(hours=2)
        db.session.flush()
        exports.sweep()

    monkeypatch.setattr(export_records, "write_batch", slow_write)
    export_build.build(export_id)
    db.session.expire_all()
    assert db.session.get(HistoryExport, export_id).state is HistoryExportState.FAILED
    assert db.session.scalars(select(MailMessage)).all() == []
    exports.sweep()
    parts = select(func.count()).where(HistoryExportPart.export_id == export_id)
    assert db.session.scalar(parts) == 0
