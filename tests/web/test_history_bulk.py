"""The history page's bulk rerun progress: read from the bulk rerun's row, so it stays right
when Redis loses everything; it stops asking once done; only the project's editors see it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from redis import Redis

from app.extensions import DEFAULT_QUEUE
from app.models import BulkRerun, Role
from app.models.base import utcnow
from app.services.runs import bulk_reruns
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in
from workers import jobs


@pytest.fixture(autouse=True)
def empty_queue(settings):
    Redis.from_url(settings.redis_url).delete(f"rq:queue:{DEFAULT_QUEUE}")


def _start_rerun(client, project, orders) -> tuple[str, str]:
    """Confirm a rerun of `orders` on the history page; the fragment and the bulk rerun id."""
    token = csrf_token_from(client.get(f"/projects/{project.id}/history").get_data(as_text=True))
    response = client.post(
        f"/projects/{project.id}/history/bulk",
        data={
            "action": "rerun",
            "work_order_ids": [str(o.id) for o in orders],
            "csrf_token": token,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    bulk_id = re.search(r"/history/bulk/([0-9a-f-]{36})", html).group(1)
    return html, bulk_id


def _progress(client, project_id, bulk_id) -> str:
    response = client.get(
        f"/projects/{project_id}/history/bulk/{bulk_id}", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_progress_still_shows_the_counts_after_redis_is_flushed_mid_way(
    signed_in, project, flow, settings, monkeypatch
):
    monkeypatch.setattr(bulk_reruns, "BATCH", 2)
    orders = [hf.work_order(flow, state="failed") for _ in range(5)]
    html, bulk_id = _start_rerun(signed_in, project, orders)
    assert "5 work orders" in html and 'hx-trigger="every 1s"' in html
    bulk_reruns.run_batch(bulk_id)  # a worker does one batch
    project_id = project.id
    Redis.from_url(settings.redis_url).flushdb()
    html = _progress(signed_in, project_id, bulk_id)
    assert "Rerunning 5 work orders: 2 done." in html
    assert 'aria-valuenow="40"' in html and 'hx-trigger="every 1s"' in html


def test_progress_stops_polling_once_the_job_has_finished(signed_in, project, flow):
    orders = [hf.work_order(flow, state="failed") for _ in range(2)]
    _, bulk_id = _start_rerun(signed_in, project, orders)
    project_id = project.id  # the job ends the test's session, as a worker's would
    jobs.bulk_rerun(bulk_id)  # as the worker runs it
    html = _progress(signed_in, project_id, bulk_id)
    assert "Done: 2 reruns queued." in html
    assert "hx-trigger" not in html and "hx-get" not in html


def test_a_stalled_rerun_says_since_when_and_offers_to_resume(
    signed_in, project, flow, db, settings
):
    orders = [hf.work_order(flow, state="failed") for _ in range(2)]
    _, bulk_id = _start_rerun(signed_in, project, orders)
    row = db.session.get(BulkRerun, bulk_id)
    row.updated_at = utcnow() - timedelta(minutes=20)
    db.session.commit()
    project_id = project.id
    html = _progress(signed_in, project_id, bulk_id)
    assert "Nothing has moved since" in html and "the worker may have stopped" in html
    resume_url = f"/projects/{project.id}/history/bulk/{bulk_id}/resume"
    assert f'hx-post="{resume_url}"' in html
    redis = Redis.from_url(settings.redis_url)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")
    token = csrf_token_from(signed_in.get(f"/projects/{project.id}/history").get_data(True))
    resumed = signed_in.post(resume_url, data={"csrf_token": token}, headers={"HX-Request": "1"})
    assert resumed.status_code == 200
    text = resumed.get_data(as_text=True)
    assert "Waiting for a worker" in text and "Nothing has moved" not in text
    assert redis.llen(f"rq:queue:{DEFAULT_QUEUE}") == 1


def test_a_failed_rerun_says_so_and_stops_polling(signed_in, project, flow, monkeypatch):
    _, bulk_id = _start_rerun(signed_in, project, [hf.work_order(flow, state="failed")])

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(bulk_reruns.commands, "rerun_work_orders", broken)
    project_id = project.id
    with pytest.raises(RuntimeError):
        jobs.bulk_rerun(bulk_id)
    html = _progress(signed_in, project_id, bulk_id)
    assert "The rerun stopped after 0 of 1 work order" in html and "Resume" in html
    assert "hx-trigger" not in html


def _client_of(app, project, role: Role):
    """A second browser, signed in as a new member of `project` with `role`."""
    client = app.test_client()
    person = factories.user()
    factories.member(project, person, role)
    log_in(client, person.email, factories.PASSWORD)
    return client


def test_a_viewer_of_another_project_gets_404_for_the_progress(app, signed_in, project, flow):
    _, bulk_id = _start_rerun(signed_in, project, [hf.work_order(flow, state="failed")])
    other = factories.project(factories.user())
    outsider = _client_of(app, other, Role.VIEWER)
    assert outsider.get(f"/projects/{project.id}/history/bulk/{bulk_id}").status_code == 404
    # Nor through a project where they may act: the id belongs to another project.
    editor = _client_of(app, other, Role.EDITOR)
    assert editor.get(f"/projects/{other.id}/history/bulk/{bulk_id}").status_code == 404
    token = csrf_token_from(editor.get(f"/projects/{other.id}/history").get_data(True))
    resume = editor.post(
        f"/projects/{other.id}/history/bulk/{bulk_id}/resume", data={"csrf_token": token}
    )
    assert resume.status_code == 404


def test_viewers_of_the_project_may_not_see_or_resume_its_bulk_reruns(
    app, signed_in, project, flow
):
    _, bulk_id = _start_rerun(signed_in, project, [hf.work_order(flow, state="failed")])
    viewer = _client_of(app, project, Role.VIEWER)
    assert viewer.get(f"/projects/{project.id}/history/bulk/{bulk_id}").status_code == 403
    token = csrf_token_from(viewer.get(f"/projects/{project.id}/history").get_data(True))
    resume = viewer.post(
        f"/projects/{project.id}/history/bulk/{bulk_id}/resume", data={"csrf_token": token}
    )
    assert resume.status_code == 403


def test_a_reload_shows_the_bulk_reruns_still_under_way_until_they_finish(
    app, signed_in, project, flow
):
    """The bar used to vanish on a full page reload while the job went on."""
    orders = [hf.work_order(flow, state="failed") for _ in range(2)]
    _, bulk_id = _start_rerun(signed_in, project, orders)
    history_url = f"/projects/{project.id}/history"
    page = signed_in.get(history_url).get_data(as_text=True)
    assert f"/history/bulk/{bulk_id}" in page and "Waiting for a worker" in page
    # Viewers get no bar (they may not rerun or resume).
    page = _client_of(app, project, Role.VIEWER).get(history_url).get_data(as_text=True)
    assert "ferry-bulk-progress" not in page
    jobs.bulk_rerun(bulk_id)  # as a worker would
    page = signed_in.get(history_url).get_data(as_text=True)
    assert f"/history/bulk/{bulk_id}" not in page
