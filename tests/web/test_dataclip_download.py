"""A large dataclip on the run page: a preview of its start and a link that downloads it
whole, streamed, masked like the page, to the project's members only."""

from __future__ import annotations

import json
from html import unescape

from sqlalchemy import select

from app.models import Dataclip, Role, Run, StepRun
from app.services.history import dataclip_download, run_page
from tests import factories
from tests import history_factories as hf
from tests.support import log_in

SECRET = "pa55-Word-in-a-big-body-7q"


def big_body(records: int) -> list[dict]:
    """An array of records whose JSON text is about 100 bytes a record."""
    return [{"id": n, "name": f"Patient {n}", "district": "Gulu", "visits": [n, n + 1]}
            for n in range(records)]  # fmt: skip


def run_with(flow, db, **clip) -> Run:
    order = hf.work_order(flow, **clip)
    return db.session.scalar(select(Run).where(Run.work_order_id == order.id))


def download_url(project, run, dataclip_id) -> str:
    return f"/projects/{project.id}/runs/{run.id}/dataclips/{dataclip_id}/download"


def test_a_body_over_the_threshold_is_previewed_with_a_download_link(signed_in, project, flow, db):
    body = big_body(2000)  # about 150 KB of JSON text, over the 64 KB threshold
    run = run_with(flow, db, body=body, steps=0)
    html = signed_in.get(f"/projects/{project.id}/runs/{run.id}").get_data(as_text=True)
    assert "Preview: first 19.5 KB of " in html and "This input is too large to show whole." in html
    assert download_url(project, run, run.dataclip_id) in html
    assert "Download the whole body" in html
    # Only the preview is in the page: its first records, indented, not the last ones.
    assert '  "name": "Patient 1",\n' in unescape(html) and "Patient 1999" not in html
    assert len(html) < 60_000


def test_a_body_under_the_threshold_is_drawn_whole_without_a_link(signed_in, project, flow, db):
    run = run_with(flow, db, body=big_body(50), steps=0)
    html = signed_in.get(f"/projects/{project.id}/runs/{run.id}").get_data(as_text=True)
    assert "Patient 49" in html and "Preview:" not in html and "/download" not in html


def test_the_threshold_is_one_constant(signed_in, project, flow, db, monkeypatch):
    run = run_with(flow, db, body=big_body(50), steps=0)
    monkeypatch.setattr(run_page, "MAX_TREE_CHARS", 1000)
    html = signed_in.get(f"/projects/{project.id}/runs/{run.id}").get_data(as_text=True)
    assert "Preview: first " in html and download_url(project, run, run.dataclip_id) in html


def test_the_download_is_the_stored_body_as_a_json_file(signed_in, project, flow, db, monkeypatch):
    # Pieces of 1,000 characters (a million in production), cut inside multi-byte letters.
    monkeypatch.setattr(dataclip_download, "PIECE_CHARS", 1000)
    body = [{**record, "town": "Ñandú €"} for record in big_body(3000)]
    run = run_with(flow, db, body=body, steps=0)
    response = signed_in.get(download_url(project, run, run.dataclip_id))
    pieces = list(response.response)
    assert len(pieces) > 200
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="dataclip-{str(run.dataclip_id)[:8]}.json"'
    assert response.is_streamed
    assert json.loads(b"".join(pieces)) == body


def test_a_step_output_downloads_too(signed_in, project, flow, db):
    run = run_with(flow, db, body={"a": 1})
    step = db.session.scalars(select(StepRun).where(StepRun.run_id == run.id)).first()
    stored = db.session.get(Dataclip, step.output_dataclip_id).body
    response = signed_in.get(download_url(project, run, step.output_dataclip_id))
    assert response.status_code == 200 and json.loads(response.get_data()) == stored


def test_a_raw_body_downloads_as_text(signed_in, project, flow, db):
    raw = "<case><name>Kofi</name></case>\n" * 5000
    run = run_with(flow, db, raw_body=raw, steps=0)
    response = signed_in.get(download_url(project, run, run.dataclip_id))
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"].endswith('.txt"')
    assert response.get_data(as_text=True) == raw
    html = signed_in.get(f"/projects/{project.id}/runs/{run.id}").get_data(as_text=True)
    assert "Preview: first 19.5 KB of 151 KB" in html


def test_credential_values_are_masked_in_the_download(signed_in, project, flow, user, db):
    factories.shared_dhis2_credential(user, project, SECRET)
    body = [{"n": n, "token": SECRET, "note": "x" * (n % 97)} for n in range(3000)]
    run = run_with(flow, db, body=body, steps=0)
    data = signed_in.get(download_url(project, run, run.dataclip_id)).get_data(as_text=True)
    assert SECRET not in data
    assert json.loads(data) == [{**record, "token": "***"} for record in body]


def test_viewers_may_download_and_outsiders_get_404(client, project, flow, db):
    run = run_with(flow, db, body={"a": 1}, steps=0)
    viewer, outsider = factories.user(), factories.user()
    factories.member(project, viewer, Role.VIEWER)
    log_in(client, viewer.email, factories.PASSWORD)
    assert client.get(download_url(project, run, run.dataclip_id)).status_code == 200
    client.post("/logout")
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    outsider_client = client.application.test_client()
    log_in(outsider_client, outsider.email, factories.PASSWORD)
    assert outsider_client.get(download_url(project, run, run.dataclip_id)).status_code == 404


def test_another_projects_dataclip_is_not_found(signed_in, project, flow, user, db):
    run = run_with(flow, db, body={"a": 1}, steps=0)
    other_project = factories.project(user, "Other")
    other_flow = hf.workflow(other_project, "Other sync")
    other = run_with(other_flow, db, body={"secret": "theirs"}, steps=0)
    response = signed_in.get(download_url(project, run, other.dataclip_id))
    assert response.status_code == 404 and "theirs" not in response.get_data(as_text=True)
    # Nor is this project's dataclip under the other project's run.
    assert signed_in.get(download_url(project, other, run.dataclip_id)).status_code == 404


def test_a_missing_or_wiped_dataclip_answers_404_with_a_sentence(signed_in, project, flow, db):
    from datetime import UTC, datetime

    run = run_with(flow, db, body={"a": 1}, steps=0)
    missing = signed_in.get(download_url(project, run, "7b3f0d3e-0000-4000-8000-000000000000"))
    assert missing.status_code == 404
    assert "This data no longer exists" in missing.get_data(as_text=True)
    db.session.get(Dataclip, run.dataclip_id).wiped_at = datetime.now(UTC)
    db.session.commit()
    wiped = signed_in.get(download_url(project, run, run.dataclip_id))
    assert wiped.status_code == 404
    assert "wiped by the project's data retention policy" in unescape(wiped.get_data(as_text=True))
    assert signed_in.get(download_url(project, run, "not-a-uuid")).status_code == 404


def test_the_studio_run_panel_shows_a_large_body_by_its_start_too(signed_in, project, flow, db):
    run = run_with(flow, db, body=big_body(3000))
    first = db.session.scalars(
        select(StepRun).where(StepRun.run_id == run.id).order_by(StepRun.started_at)
    ).first()
    base = f"/projects/{project.id}/workflows/{flow.id}"
    tab = signed_in.get(f"{base}/runs/{run.id}/step?tab=input&step_id={first.step_id}")
    inputs = signed_in.get(f"{base}/inputs?dataclip_id={run.dataclip_id}")
    for response in (tab, inputs):
        html = unescape(response.get_data(as_text=True))
        assert response.status_code == 200
        assert "Preview: first 19.5 KB of " in html and "The run page downloads the whole" in html
        assert '"name": "Patient 0"' in html and "Patient 2999" not in html
        assert len(html) < 40_000
    # A small output is still printed whole.
    output = signed_in.get(f"{base}/runs/{run.id}/step?tab=output&step_id={first.step_id}")
    assert "Preview:" not in output.get_data(as_text=True)
