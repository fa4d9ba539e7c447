"""The history page: rows, filters in the URL, fragments, bulk actions, and who may act."""

from __future__ import annotations

import re

from redis import Redis
from sqlalchemy import func, select

from app.models import Role, Run, RunState, WorkOrder, WorkOrderState
from app.services.runs import bulk_reruns
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="wo-([0-9a-f-]{36})"', html)


def as_member(client, project, role: Role):
    person = factories.user()
    factories.member(project, person, role)
    log_in(client, person.email, factories.PASSWORD)
    return person


def test_page_lists_work_orders_newest_first_with_their_facts(signed_in, project, flow):
    old = hf.work_order(flow, state="failed", received=hf.at(days_ago=1))
    new = hf.work_order(flow, state="running", received=hf.at(minutes_ago=2))
    html = html_of(signed_in.get(f"/projects/{project.id}/history"))
    assert "<title>History — Clinic intake · Ferry</title>" in html
    assert row_ids(html) == [str(new.id), str(old.id)]
    assert "Patient sync" in html and "webhook" in html
    assert 'data-state="failed"' in html and 'data-state="running"' in html
    assert 'sse-connect="/projects/' in html and 'hx-ext="sse"' in html
    assert "vendor/htmx-ext-sse-2.2.4/sse.min.js" in html
    assert 'aria-current="page"' in html and "History" in html


def test_empty_history_explains_itself(signed_in, project):
    html = html_of(signed_in.get(f"/projects/{project.id}/history"))
    assert "No work orders yet" in html


def test_filters_live_in_the_url_and_fill_the_form(signed_in, project, flow):
    other = hf.workflow(project, "Stock levels")
    wanted = hf.work_order(flow, state="failed", body={"patient": "Amina"})
    hf.work_order(other, state="failed", body={"patient": "Amina"})
    hf.work_order(flow, state="success", body={"patient": "Amina"})
    url = (
        f"/projects/{project.id}/history?state=failed&workflow={flow.id}&q=amina&in=input"
        f"&received_from={hf.at(days_ago=1).date()}"
    )
    html = html_of(signed_in.get(url))
    assert row_ids(html) == [str(wanted.id)]
    assert 'value="amina"' in html
    assert 'id="f-state-failed" checked' in html
    assert f'value="{flow.id}" selected' in html
    assert 'id="f-in-input" checked' in html and 'id="f-in-id" checked' not in html


def test_htmx_filter_request_gets_only_the_results(signed_in, project, flow):
    hf.work_order(flow)
    response = signed_in.get(
        f"/projects/{project.id}/history?state=success", headers={"HX-Request": "true"}
    )
    html = html_of(response)
    assert "<html" not in html and 'id="history-live"' in html
    assert "HX-Request" in response.headers["Vary"]
    restore = signed_in.get(
        f"/projects/{project.id}/history",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in html_of(restore)


def test_a_bad_filter_is_named_and_the_list_still_shows(signed_in, project, flow):
    hf.work_order(flow)
    response = signed_in.get(f"/projects/{project.id}/history?received_from=yesterday")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Write the date as YYYY-MM-DD." in html
    assert len(row_ids(html)) == 1


def test_load_more_appends_the_next_page_by_keyset(signed_in, project, flow):
    orders = [hf.work_order(flow, received=hf.at(minutes_ago=200 - i)) for i in range(55)]
    html = html_of(signed_in.get(f"/projects/{project.id}/history"))
    assert row_ids(html) == [str(o.id) for o in reversed(orders)][:50]
    more = re.search(r'hx-get="([^"]*/history/rows\?cursor=[^"]+)"', html).group(1)
    hf.work_order(flow)  # arrives meanwhile: does not shift the next page
    rest = html_of(signed_in.get(more.replace("&amp;", "&")))
    assert row_ids(rest) == [str(o.id) for o in reversed(orders)][50:]
    assert "No older work orders" not in rest and "Load older" not in rest


def test_count_says_more_than_past_the_cap(signed_in, project, flow, monkeypatch):
    for _ in range(3):
        hf.work_order(flow, state="failed")
    html = html_of(signed_in.get(f"/projects/{project.id}/history/count?state=failed"))
    assert "3 work orders" in html and "match these filters" in html
    monkeypatch.setattr("app.services.history.listing.COUNT_CAP", 2)
    html = html_of(signed_in.get(f"/projects/{project.id}/history/count"))
    assert "More than 2 work orders" in html


def test_newer_fragment_lists_arrivals_after_the_mark(signed_in, project, flow):
    first = hf.work_order(flow, received=hf.at(minutes_ago=5))
    page = html_of(signed_in.get(f"/projects/{project.id}/history"))
    newer_url = re.search(r'hx-get="([^"]*/history/newer[^"]*)"', page).group(1)
    assert "mark=" in newer_url
    arrived = hf.work_order(flow)
    html = html_of(signed_in.get(newer_url.replace("&amp;", "&")))
    assert row_ids(html) == [str(arrived.id)]
    assert str(first.id) not in html


def test_row_and_detail_fragments_read_the_database(signed_in, project, flow, db):
    order = hf.work_order(flow, state="running", logs=[("info", "hello")])
    row = html_of(signed_in.get(f"/projects/{project.id}/history/work_orders/{order.id}/row"))
    assert 'data-state="running"' in row and "ferry:poll" in row
    order.state = WorkOrderState.SUCCESS
    db.session.commit()
    row = html_of(signed_in.get(f"/projects/{project.id}/history/work_orders/{order.id}/row"))
    assert 'data-state="success"' in row and "ferry:poll" not in row
    detail = html_of(signed_in.get(f"/projects/{project.id}/history/work_orders/{order.id}"))
    assert "Fetch cases" in detail and "Load cases" in detail and "first run" in detail


def test_other_projects_are_404_and_so_are_their_work_orders(signed_in, project, db):
    theirs = hf.work_order(hf.workflow(factories.project(factories.user())))
    assert signed_in.get(f"/projects/{theirs.project_id}/history").status_code == 404
    stolen = f"/projects/{project.id}/history/work_orders/{theirs.id}"
    assert signed_in.get(stolen).status_code == 404
    assert signed_in.get(f"{stolen}/row").status_code == 404


def _bulk(client, project, data: dict, path: str = "bulk/preview"):
    page = client.get(f"/projects/{project.id}/history")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        f"/projects/{project.id}/history/{path}",
        data={**data, "csrf_token": token},
        headers={"HX-Request": "true"},
    )


def test_bulk_rerun_confirmation_counts_selected_rows(signed_in, project, flow):
    chosen = [hf.work_order(flow, state="failed") for _ in range(3)]
    hf.work_order(flow, state="failed")
    html = html_of(
        _bulk(
            signed_in, project, {"action": "rerun", "work_order_ids": [str(o.id) for o in chosen]}
        )
    )
    assert "Rerun 3 work orders?" in html
    assert "Fetch cases (fetch)" in html  # rerun from a named step is offered


def test_bulk_rerun_of_all_matching_counts_the_filter(signed_in, project, flow):
    for _ in range(4):
        hf.work_order(flow, state="failed")
    hf.work_order(flow, state="success")
    html = html_of(_bulk(signed_in, project, {"action": "rerun", "all": "1", "state": "failed"}))
    assert "Rerun 4 work orders?" in html


def test_bulk_rerun_queues_jobs_and_reports_progress(signed_in, project, flow, settings):
    Redis.from_url(settings.redis_url).delete("rq:queue:default")
    chosen = [hf.work_order(flow, state="failed") for _ in range(2)]
    html = html_of(
        _bulk(
            signed_in,
            project,
            {
                "action": "rerun",
                "work_order_ids": [str(o.id) for o in chosen],
                "start": "step",
                "step": "load",
            },
            path="bulk",
        )
    )
    bulk_id = re.search(r"/history/bulk/([0-9a-f-]{36})", html).group(1)
    progress = bulk_reruns.progress(project.id, bulk_id)
    assert progress["total"] == 2 and progress["state"] == "queued"
    assert "Waiting for a worker to rerun 2 work orders" in html
    assert 'hx-trigger="every 1s"' in html
    job_args = Redis.from_url(settings.redis_url).lrange("rq:queue:default", 0, -1)
    assert len(job_args) == 1
    # The background job (run here, as a worker would) creates the reruns from "load".
    bulk_reruns.run_batches(bulk_id)
    html = html_of(signed_in.get(f"/projects/{project.id}/history/bulk/{bulk_id}"))
    assert "Done: 2 reruns queued" in html


def test_bulk_cancel_cancels_only_pending_runs(signed_in, project, flow, db):
    pending = [hf.work_order(flow, state="pending") for _ in range(2)]
    done = hf.work_order(flow, state="success")
    ids = [str(o.id) for o in [*pending, done]]
    preview = html_of(_bulk(signed_in, project, {"action": "cancel", "work_order_ids": ids}))
    assert "Cancel 2 pending runs?" in preview and "3 selected work orders" in preview
    html = html_of(
        _bulk(signed_in, project, {"action": "cancel", "work_order_ids": ids}, path="bulk")
    )
    assert "Cancelled 2 pending runs." in html
    states = {o.id: db.session.get(WorkOrder, o.id).state for o in [*pending, done]}
    assert states == {
        pending[0].id: WorkOrderState.CANCELLED,
        pending[1].id: WorkOrderState.CANCELLED,
        done.id: WorkOrderState.SUCCESS,
    }
    cancelled = db.session.scalar(
        select(func.count()).select_from(Run).where(Run.state == RunState.CANCELLED)
    )
    assert cancelled == 2


def test_bulk_without_a_selection_says_so(signed_in, project, flow):
    html = html_of(_bulk(signed_in, project, {"action": "rerun"}))
    assert "Select work orders first" in html


def test_viewers_see_everything_but_cannot_act(client, project, flow, db):
    order = hf.work_order(flow, state="failed")
    as_member(client, project, Role.VIEWER)
    html = html_of(client.get(f"/projects/{project.id}/history"))
    assert row_ids(html) == [str(order.id)]
    assert 'id="bulk-form"' not in html and 'name="work_order_ids"' not in html
    token = csrf_token_from(html)
    for path in ("bulk/preview", "bulk"):
        response = client.post(
            f"/projects/{project.id}/history/{path}",
            data={"action": "rerun", "work_order_ids": [str(order.id)], "csrf_token": token},
        )
        assert response.status_code == 403
    unknown = "6f1c2a7e-3d0b-4b8e-9a51-0c7d2e4f6a10"
    assert client.get(f"/projects/{project.id}/history/bulk/{unknown}").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Run)) == 1


def test_editors_get_the_bulk_tools(client, project, flow):
    hf.work_order(flow)
    as_member(client, project, Role.EDITOR)
    html = html_of(client.get(f"/projects/{project.id}/history"))
    assert 'id="bulk-form"' in html and 'name="work_order_ids"' in html
