"""The Studio's htmx fragments: a run's status that re-reads itself until the run is final,
the step tabs, the stored inputs, the request builder's form and line, adaptor docs and webhook
authentication; each answers a bad input with a 422 fragment aimed at the field to fix."""

from __future__ import annotations

import json
import re
from html import unescape

from sqlalchemy import func, select

from app.models import Dataclip, DataclipType, Role, Run
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in

HX = {"HX-Request": "true"}


def base(flow) -> str:
    return f"/projects/{flow.project_id}/workflows/{flow.id}"


def headers(client, flow) -> dict:
    token = csrf_token_from(client.get(base(flow)).get_data(as_text=True))
    return {**HX, "X-CSRFToken": token}


def run_of(db, flow, state: str) -> Run:
    order = hf.work_order(flow, state=state, logs=[("info", "fetched 3 cases")], manual=True)
    return db.session.scalar(select(Run).where(Run.work_order_id == order.id))


def status_url(flow, run, seen: str = "") -> str:
    return f"{base(flow)}/runs/{run.id}/status" + (f"?seen={seen}" if seen else "")


def runs_in(db, flow) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Run).where(Run.workflow_id == flow.id)
    )


# --- starting a run -------------------------------------------------------------------------


def test_a_started_run_answers_with_its_status_polling_itself(signed_in, flow):
    reply = signed_in.post(
        f"{base(flow)}/runs",
        data={"source": "custom", "custom": '{"data": {"n": 1}}'},
        headers=headers(signed_in, flow),
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 201
    assert 'id="run-status"' in html and 'data-run-state="available"' in html
    assert 'hx-trigger="every 1s"' in html
    # The tabs of the new run's results arrive with it, and old messages are emptied.
    assert 'id="step-tab-form"' in html and 'hx-swap-oob="true"' in html
    assert re.search(r'id="run-input-error" role="alert" hx-swap-oob="true"></div>', html)


def test_invalid_custom_input_is_shown_under_the_input_editor(signed_in, db, flow):
    reply = signed_in.post(
        f"{base(flow)}/runs",
        data={"source": "custom", "custom": "{oops"},
        headers=headers(signed_in, flow),
    )
    assert reply.status_code == 422
    assert reply.headers["HX-Retarget"] == "#run-input-error"
    assert "The input is not valid JSON" in reply.get_data(as_text=True)
    assert runs_in(db, flow) == 0


def test_a_stored_input_must_be_chosen_before_running_with_one(signed_in, db, flow):
    reply = signed_in.post(
        f"{base(flow)}/runs",
        data={"source": "stored", "dataclip_id": ""},
        headers=headers(signed_in, flow),
    )
    assert reply.status_code == 422
    assert reply.headers["HX-Retarget"] == "#run-dataclip-error"
    assert "Choose a saved input or a recent run's input." in unescape(reply.get_data(True))
    assert runs_in(db, flow) == 0


def test_the_selected_step_is_used_only_when_starting_from_it(signed_in, db, flow):
    step = next(s for s in flow.steps if s.key == "load")
    for start in ("all", "step"):
        sent = {"source": "empty", "step_id": str(step.id), "start": start}
        reply = signed_in.post(f"{base(flow)}/runs", data=sent, headers=headers(signed_in, flow))
        assert reply.status_code == 201
    runs = db.session.scalars(
        select(Run).where(Run.workflow_id == flow.id).order_by(Run.inserted_at)
    )
    assert [run.starting_step_id == step.id for run in runs] == [False, True]


# --- the run's status -----------------------------------------------------------------------


def test_an_open_runs_status_re_reads_itself_every_second(signed_in, db, flow):
    run = run_of(db, flow, "running")
    reply = signed_in.get(status_url(flow, run), headers=HX)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "HX-Request" in reply.headers["Vary"]
    assert 'data-run-state="started"' in html and 'hx-trigger="every 1s"' in html
    assert 'data-step-state="started"' in html  # its step is painted as running
    assert "HX-Trigger" not in reply.headers  # no toast while it runs


def test_an_unchanged_run_answers_204_so_nothing_is_redrawn(signed_in, db, flow):
    run = run_of(db, flow, "running")
    html = signed_in.get(status_url(flow, run), headers=HX).get_data(as_text=True)
    seen = re.search(r"seen=(\w+)", html).group(1)
    again = signed_in.get(status_url(flow, run, seen), headers=HX)
    assert again.status_code == 204 and again.get_data() == b""
    stale = signed_in.get(status_url(flow, run, "0" * 12), headers=HX)
    assert stale.status_code == 200


def test_a_finished_run_renders_without_the_polling_trigger_and_says_so(signed_in, db, flow):
    run = run_of(db, flow, "failed")
    reply = signed_in.get(status_url(flow, run, "stale"), headers=HX)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert 'data-run-state="failed"' in html and "hx-trigger" not in html
    assert '<span class="badge ferry-state text-bg-danger" data-state="failed"' in html
    assert html.count('data-step-state="success"') == 1 and 'data-step-state="failed"' in html
    events = json.loads(reply.headers["HX-Trigger"])
    assert events["ferry:toast"] == {"message": "The run finished: failed.", "kind": "danger"}
    assert "ferry:run-finished" in events


def test_a_run_status_opened_on_its_own_is_the_runs_page(signed_in, db, flow):
    run = run_of(db, flow, "success")
    for sent in ({}, {**HX, "HX-History-Restore-Request": "true"}):
        reply = signed_in.get(status_url(flow, run), headers=sent)
        assert reply.status_code == 302
        assert reply.headers["Location"] == f"/projects/{flow.project_id}/runs/{run.id}"
        assert "HX-Request" in reply.headers["Vary"]


def test_outsiders_get_404_for_every_fragment(client, db, flow):
    stranger = factories.user()
    log_in(client, stranger.email, factories.PASSWORD)
    run = run_of(db, flow, "success")
    for url in (
        status_url(flow, run),
        f"{base(flow)}/runs/{run.id}/step?tab=output",
        f"{base(flow)}/inputs",
        f"{base(flow)}/input-paths",
        f"{base(flow)}/webhook-auth?trigger=webhook",
        f"/projects/{flow.project_id}/workflows/adaptor-docs?adaptor=http",
    ):
        assert client.get(url, headers=HX).status_code == 404, url


# --- a step's tabs --------------------------------------------------------------------------


def test_the_step_tab_asks_for_a_step_until_one_is_selected(signed_in, db, flow):
    run = run_of(db, flow, "success")
    html = signed_in.get(f"{base(flow)}/runs/{run.id}/step?tab=output", headers=HX).get_data(True)
    assert "Select a step on the canvas to see its input, output and logs" in html


def test_logs_of_a_running_step_re_read_themselves_and_stop_when_it_ends(signed_in, db, flow):
    step = next(s for s in flow.steps if s.key == "fetch")
    running = run_of(db, flow, "running")
    url = f"{base(flow)}/runs/{running.id}/step?tab=logs&step_id={step.id}"
    html = signed_in.get(url, headers=HX).get_data(as_text=True)
    assert "fetched 3 cases" in html and 'hx-trigger="every 1s"' in html
    done = run_of(db, flow, "success")
    url = f"{base(flow)}/runs/{done.id}/step?tab=logs&step_id={step.id}&level=info"
    html = signed_in.get(url, headers=HX).get_data(as_text=True)
    assert "fetched 3 cases" in html and "hx-trigger" not in html
    assert '<option value="info" selected>' in html


def test_other_tabs_keep_the_chosen_log_level(signed_in, db, flow):
    step = next(s for s in flow.steps if s.key == "fetch")
    run = run_of(db, flow, "success")
    url = f"{base(flow)}/runs/{run.id}/step?tab=output&step_id={step.id}&level=warn"
    html = signed_in.get(url, headers=HX).get_data(as_text=True)
    assert '<input type="hidden" name="level" value="warn">' in html
    assert "&#34;step&#34;: &#34;fetch&#34;" in html


# --- stored inputs --------------------------------------------------------------------------


def test_stored_inputs_preview_the_chosen_one(signed_in, db, flow):
    run = run_of(db, flow, "success")
    saved = Dataclip(
        project_id=flow.project_id,
        type=DataclipType.SAVED_INPUT,
        name="Two patients",
        body={"data": [{"name": "Ada"}, {"name": "Grace"}]},
    )
    db.session.add(saved)
    db.session.commit()
    html = signed_in.get(f"{base(flow)}/inputs", headers=HX).get_data(as_text=True)
    assert "Two patients" in html and "&#34;Ada&#34;" in html  # the first is chosen and shown
    chosen = signed_in.get(
        f"{base(flow)}/inputs?dataclip_id={run.dataclip_id}", headers=HX
    ).get_data(as_text=True)
    assert (
        f'<option value="{run.dataclip_id}" selected>' in chosen and "&#34;Ada&#34;" not in chosen
    )


def test_saving_an_input_without_a_name_says_so_under_the_name(signed_in, db, flow):
    sent = {"source": "custom", "custom": '{"data": [1]}', "name": "  "}
    reply = signed_in.post(f"{base(flow)}/inputs", data=sent, headers=headers(signed_in, flow))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422 and reply.headers["HX-Retarget"] == "#save-input"
    assert "Give the test input a name." in html and "is-invalid" in html
    stored = (
        select(func.count()).select_from(Dataclip).where(Dataclip.type == DataclipType.SAVED_INPUT)
    )
    assert db.session.scalar(stored) == 0


def test_a_saved_input_is_chosen_and_the_name_box_emptied(signed_in, db, flow):
    sent = {"source": "custom", "custom": '{"data": [1]}', "name": "One record"}
    reply = signed_in.post(f"{base(flow)}/inputs", data=sent, headers=headers(signed_in, flow))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert re.search(r'<option value="[0-9a-f-]+" selected>One record</option>', html)
    assert "Saved “One record” as a test input." in html
    assert 'id="save-input-name" name="name" value=""' in html


# --- adaptor docs and the request builder ---------------------------------------------------


def test_adaptor_docs_bring_the_request_builders_operations_to_editors(
    signed_in, app, project, flow
):
    url = f"/projects/{flow.project_id}/workflows/adaptor-docs?adaptor=http"
    html = signed_in.get(url, headers=HX).get_data(as_text=True)
    assert "studio-docs" in html
    assert '<div id="rb-toolbar" hx-swap-oob="true">' in html
    assert '<option value="post">http.post</option>' in html
    nothing = signed_in.get(url.replace("http", ""), headers=HX).get_data(as_text=True)
    assert "Choose an adaptor to see its operations." in nothing
    assert "Choose the step's adaptor first" in nothing and "rb-open" in nothing
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    client = app.test_client()
    log_in(client, viewer.email, factories.PASSWORD)
    assert "rb-toolbar" not in client.get(url, headers=HX).get_data(as_text=True)


def test_a_written_line_travels_in_an_event_and_closes_the_form(signed_in, flow):
    sent = {
        "adaptor": "http",
        "operation": "get",
        "path-mode": "input",
        "path-value": "data.url",
        "line_row": "3",
    }
    reply = signed_in.post(
        f"/projects/{flow.project_id}/workflows/request-line",
        data=sent,
        headers=headers(signed_in, flow),
    )
    assert reply.status_code == 200 and reply.get_data() == b""
    assert json.loads(reply.headers["HX-Trigger"])["ferry:insert-line"] == {
        "line": "get(S.data.url)",
        "row": 3,
        "end": 3,
    }


def test_a_missing_value_shows_the_form_again_with_the_message_at_its_field(signed_in, flow):
    sent = {
        "adaptor": "http",
        "operation": "post",
        "path-mode": "text",
        "path-value": "",
        "each": "data",
    }
    reply = signed_in.post(
        f"/projects/{flow.project_id}/workflows/request-line",
        data=sent,
        headers=headers(signed_in, flow),
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert re.search(r'data-param-error="path" role="alert">[^<]*is required', html)
    assert 'id="rb-each" name="each" value="data"' in html  # what was typed is kept


def test_edit_line_on_an_empty_line_says_where_to_put_the_cursor(signed_in, flow):
    reply = signed_in.post(
        f"/projects/{flow.project_id}/workflows/request-form",
        data={"adaptor": "http", "line": "  "},
        headers=headers(signed_in, flow),
    )
    assert reply.status_code == 422 and reply.headers["HX-Retarget"] == "#rb-message"
    assert "Put the cursor on a line the form wrote" in reply.get_data(as_text=True)


def test_a_reopened_line_is_written_back_in_its_place(signed_in, flow):
    reply = signed_in.post(
        f"/projects/{flow.project_id}/workflows/request-form",
        data={"adaptor": "http", "line": "get(S.data.url)", "line_row": "4"},
        headers=headers(signed_in, flow),
    )
    html = reply.get_data(as_text=True)
    assert 'name="line_row" value="4"' in html and "Update line" in html
    assert 'value="data.url"' in html


# --- webhook authentication -----------------------------------------------------------------


def test_webhook_auth_form_shows_the_saved_method_to_admins_only(app, client, db, project, flow):
    admin = factories.user()
    factories.member(project, admin, Role.ADMIN)
    log_in(client, admin.email, factories.PASSWORD)
    html = client.get(f"{base(flow)}/webhook-auth?trigger=webhook", headers=HX).get_data(True)
    assert "Now: <strong>none (anyone with the URL)</strong>" in html
    assert f"/triggers/{flow.triggers[0].id}/auth" in html
    unsaved = client.get(f"{base(flow)}/webhook-auth?trigger=new", headers=HX).get_data(True)
    assert "Save the workflow to choose how callers of this trigger authenticate." in unsaved
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    other = app.test_client()
    log_in(other, editor.email, factories.PASSWORD)
    assert other.get(f"{base(flow)}/webhook-auth?trigger=webhook", headers=HX).status_code == 403


def test_a_refused_webhook_auth_keeps_what_was_chosen(app, client, db, project, flow):
    admin = factories.user()
    factories.member(project, admin, Role.ADMIN)
    log_in(client, admin.email, factories.PASSWORD)
    url = f"{base(flow)}/triggers/{flow.triggers[0].id}/auth"
    reply = client.post(
        url, data={"method": "basic", "username": ""}, headers=headers(client, flow)
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "needs a username" in html
    assert '<option value="basic" selected>' in html


# --- the page -------------------------------------------------------------------------------


def test_the_builder_draws_every_state_look_for_the_canvas_from_the_states_macro(signed_in, flow):
    html = signed_in.get(base(flow)).get_data(as_text=True)
    palette = html[html.index("data-state-palette") :].split("</div>")[0]
    assert 'class="badge text-bg-success" data-state="success" data-symbol="✓"' in palette
    assert 'class="badge text-bg-ferry-killed" data-state="killed"' in palette
    # The run panel's fragments are part of the page (one markup source each).
    assert 'id="run-status"' in html and 'id="step-tab-form"' in html and 'id="rb-toolbar"' in html
