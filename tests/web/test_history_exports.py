"""The history export pages: the history page's Export form carries the filter the results
show; the exports page follows the job from its row and stops asking once done; the download
streams the zip to members who may see the history, answers 410 once lapsed, and refuses
outsiders, removed members and other projects' exports; bad input gets a sentence, not a 500."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import DEFAULT_QUEUE, db
from app.models import HistoryExport, HistoryExportState, ProjectMember, Role
from app.models.base import utcnow
from app.services.history.exports import build as export_build
from app.services.history.exports import lifecycle as exports
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in


@pytest.fixture(autouse=True)
def empty_queue(settings):
    Redis.from_url(settings.redis_url).delete(f"rq:queue:{DEFAULT_QUEUE}")


def history_page(client, project, **args) -> str:
    response = client.get(f"/projects/{project.id}/history", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def start_export(client, project, **fields):
    """Post the history page's Export form, as the browser would."""
    token = csrf_token_from(history_page(client, project))
    return client.post(
        f"/projects/{project.id}/history/exports", data={"csrf_token": token, **fields}
    )


def only_export(project) -> HistoryExport:
    return db.session.scalars(
        select(HistoryExport).where(HistoryExport.project_id == project.id)
    ).one()


def test_the_export_form_carries_the_filter_and_warns_about_personal_data(signed_in, project, flow):
    html = history_page(signed_in, project, state="failed", workflow=str(flow.id))
    form = html[html.index('id="history-export"') :]
    form = form[: form.index("</form>")]
    assert f'action="/projects/{project.id}/history/exports"' in form
    assert '<input type="hidden" name="state" value="failed">' in form
    assert f'<input type="hidden" name="workflow" value="{flow.id}">' in form
    assert 'name="include_dataclips"' in form and "personal data" in form


def test_an_export_is_queued_then_shown_live_and_downloadable_once_built(signed_in, project, flow):
    order = hf.work_order(flow, state="failed", logs=[("info", "hello")])
    hf.work_order(flow, state="success")
    response = start_export(signed_in, project, state="failed", include_dataclips="y")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/projects/{project.id}/history/exports")
    export = only_export(project)
    assert export.include_dataclips and export.filters == {"state": ["failed"]}

    page = signed_in.get(f"/projects/{project.id}/history/exports").get_data(as_text=True)
    assert "Export started" in page and "Waiting for a worker" in page
    row_url = f"/projects/{project.id}/history/exports/{export.id}"
    assert f'hx-get="{row_url}"' in page and 'hx-trigger="every 1s"' in page
    assert "style=" not in page[page.index("<main") :]

    export_id, project_id = export.id, project.id
    export_build.build(export_id)  # as the worker does
    row = signed_in.get(row_url).get_data(as_text=True)
    assert "ready" in row and "hx-trigger" not in row and "Download" in row
    download_url = f"/projects/{project_id}/history/exports/{export_id}/download"
    assert f'href="{download_url}"' in row

    response = signed_in.get(download_url)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    day = utcnow().strftime("%Y-%m-%d")
    disposition = f'attachment; filename="ferry-history-clinic-intake-{day}.zip"'
    assert response.headers["Content-Disposition"] == disposition
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        lines = archive.read("work_orders.jsonl").decode().splitlines()
        assert len(lines) == 1 and str(order.id) in lines[0]
        assert "dataclips.jsonl" in archive.namelist()


def test_a_viewer_may_export_and_download(client, project, flow):
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    hf.work_order(flow)
    log_in(client, viewer.email, factories.PASSWORD)
    assert start_export(client, project).status_code == 303
    export_id, project_id = only_export(project).id, project.id
    export_build.build(export_id)
    url = f"/projects/{project_id}/history/exports/{export_id}/download"
    assert client.get(url).status_code == 200


def test_outsiders_removed_members_and_other_projects_get_404(client, user, project, flow):
    member = factories.user()
    factories.member(project, member, Role.EDITOR)
    export_id = only_export_built(user, project, flow)
    project_id = project.id
    url = f"/projects/{project_id}/history/exports/{export_id}/download"
    log_in(client, member.email, factories.PASSWORD)
    assert client.get(url).status_code == 200

    db.session.execute(ProjectMember.__table__.delete().where(ProjectMember.user_id == member.id))
    db.session.commit()
    assert client.get(url).status_code == 404  # checked at download time
    assert client.get(f"/projects/{project_id}/history/exports").status_code == 404

    elsewhere = factories.project(member, "Elsewhere")
    assert (
        client.get(f"/projects/{elsewhere.id}/history/exports/{export_id}/download").status_code
        == 404
    )
    assert client.get(f"/projects/{elsewhere.id}/history/exports/{export_id}").status_code == 404


def only_export_built(user, project, flow) -> uuid.UUID:
    hf.work_order(flow)
    export_id = exports.request_export(user.id, project.id, MultiDict(), False)
    export_build.build(export_id)
    return export_id


def test_a_lapsed_export_answers_410_with_a_clear_page(signed_in, user, project, flow):
    export_id = only_export_built(user, project, flow)
    db.session.get(HistoryExport, export_id).expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    project_id = project.id
    page = signed_in.get(f"/projects/{project_id}/history/exports").get_data(as_text=True)
    assert 'data-state="expired"' in page and "/download" not in page
    response = signed_in.get(f"/projects/{project_id}/history/exports/{export_id}/download")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "This export has expired" in html and "Request a new export" in html


def test_an_export_not_ready_yet_answers_409(signed_in, project):
    assert start_export(signed_in, project).status_code == 303
    export_id = only_export(project).id
    response = signed_in.get(f"/projects/{project.id}/history/exports/{export_id}/download")
    assert response.status_code == 409 and "not ready" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"state": "bogus"}, "Unknown state"),
        ({"workflow": "../../etc"}, "That workflow id is not valid."),
        ({"received_from": "yesterday"}, "Write the date as YYYY-MM-DD."),
        ({"q": "x" * 500}, "at most 200 characters"),
    ],
)
def test_a_bad_filter_is_refused_with_a_sentence(signed_in, project, fields, message):
    response = start_export(signed_in, project, **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The export was not started" in html and message in html
    assert db.session.scalars(select(HistoryExport)).all() == []


def test_nul_characters_and_crafted_ids_get_4xx(signed_in, project):
    response = start_export(signed_in, project, q="abc\x00def")
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    base = f"/projects/{project.id}/history/exports"
    assert signed_in.get(f"{base}/not-an-id/download").status_code == 404
    assert signed_in.get(f"{base}/{uuid.uuid4()}/download").status_code == 404
    assert signed_in.get(f"{base}/{uuid.uuid4()}").status_code == 404


def test_a_fourth_export_while_three_are_on_the_way_is_refused(signed_in, project):
    for _ in range(3):
        assert start_export(signed_in, project).status_code == 303
    response = start_export(signed_in, project)
    assert response.status_code == 409
    assert "3 exports on the way" in response.get_data(as_text=True)


def test_the_exports_page_explains_itself_when_empty(signed_in, project):
    html = signed_in.get(f"/projects/{project.id}/history/exports").get_data(as_text=True)
    assert "No exports yet" in html
    assert re.search(rf'href="/projects/{project.id}/history"', html)


def test_a_running_export_shows_n_of_total_and_a_silent_one_says_it_failed(
    signed_in, user, project
):
    export_id = exports.request_export(user.id, project.id, MultiDict(), False)
    row = db.session.get(HistoryExport, export_id)
    row.state, row.total, row.done = HistoryExportState.RUNNING, 10, 4
    db.session.commit()
    url = f"/projects/{project.id}/history/exports/{export_id}"
    html = signed_in.get(url).get_data(as_text=True)
    assert "Exporting: 4 of 10" in html and 'value="40"' in html and "every 1s" in html

    db.session.get(HistoryExport, export_id).updated_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    exports.sweep()
    html = signed_in.get(url).get_data(as_text=True)
    assert "failed" in html and "Request it again" in html and "hx-trigger" not in html
