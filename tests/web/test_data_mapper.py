"""The data mapper's fragments: the samples offered, the chosen one as a tree of clickable
fields with the lists "Repeat for each" can use, a bad pasted sample answered 422 next to the
paste box, the preview of the first request, and "Edit line" on a laid-out operation."""

from __future__ import annotations

import json
import re

from app.models import Role
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in

HX = {"HX-Request": "true"}
RECORDS = '{"records": [{"name": "Ada", "age": 36}, {"name": "Grace", "age": 45}]}'


def base(flow) -> str:
    return f"/projects/{flow.project_id}/workflows/{flow.id}"


def headers(client, flow) -> dict:
    token = csrf_token_from(client.get(base(flow)).get_data(as_text=True))
    return {**HX, "X-CSRFToken": token}


def test_the_builder_page_has_the_mapper_under_the_request_builder(signed_in, flow):
    html = signed_in.get(base(flow)).get_data(as_text=True)
    assert 'id="rb-mapper"' in html and 'id="rb-sample-json"' in html
    assert "css/mapper.css" in html and 'id="rb-preview"' in html


def test_the_samples_offered_keep_the_chosen_one(signed_in, db, flow):
    hf.work_order(flow, body={"x": 1})
    reply = signed_in.get(f"{base(flow)}/samples?sample=paste", headers=HX)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert '<option value="paste" selected>A JSON sample I paste</option>' in html
    assert "Inputs of recent runs" in html and "The previous step" in html


def test_a_pasted_sample_is_drawn_as_a_tree_of_fields_with_its_lists(signed_in, flow):
    reply = signed_in.post(
        f"{base(flow)}/sample",
        data={"sample": "paste", "sample_json": RECORDS},
        headers=headers(signed_in, flow),
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "ferry:sample-loaded" in reply.headers["HX-Trigger"]
    assert 'data-path="data.records.0.name"' in html and "“Ada”" in html
    assert 'data-each="data.records"' in html
    assert '<option value="data.records">2 items</option>' in html
    # The "From input" boxes now suggest this sample's fields.
    assert '<datalist id="rb-paths" hx-swap-oob="true">' in html
    assert '<option value="data.records.0.age"></option>' in html
    assert re.search(r'id="rb-sample-error" role="alert" hx-swap-oob="true"></div>', html)


def test_bad_pasted_json_answers_422_with_the_message_next_to_the_paste_box(signed_in, flow):
    for text, said in [
        ('{"records": [', "is not valid JSON"),
        ('{"a": "\\u0000"}', "NUL"),
        ("[" * 80 + "]" * 80, "deep"),
        ("1" * 200_001, "too long"),
    ]:
        reply = signed_in.post(
            f"{base(flow)}/sample",
            data={"sample": "paste", "sample_json": text},
            headers=headers(signed_in, flow),
        )
        html = reply.get_data(as_text=True)
        assert reply.status_code == 422, text[:20]
        error = re.search(r'id="rb-sample-error" role="alert" hx-swap-oob="true">([^<]*)<', html)
        assert error and said.lower() in error.group(1).lower()


def test_crafted_sample_choices_and_step_ids_are_refused_or_ignored(signed_in, flow):
    h = headers(signed_in, flow)
    crafted = signed_in.post(f"{base(flow)}/sample", data={"sample": "clip:../x"}, headers=h)
    assert crafted.status_code == 422 and "Choose a sample" in crafted.get_data(as_text=True)
    step = signed_in.post(
        f"{base(flow)}/sample", data={"sample": "previous", "step_id": "x' or 1=1"}, headers=h
    )
    assert step.status_code == 200 and "Save the workflow first" in step.get_data(as_text=True)


def test_the_preview_shows_the_first_records_request(signed_in, flow):
    form = {
        "sample": "paste",
        "sample_json": RECORDS,
        "adaptor": "http@1",
        "operation": "post",
        "path-mode": "text",
        "path-value": "http://127.0.0.1:5999/patients",
        "body-mode": "fields",
        "body-key": "full_name",
        "body-rowmode": "input",
        "body-rowvalue": "data.name",
        "each": "data.records",
    }
    reply = signed_in.post(
        f"{base(flow)}/request-preview", data=form, headers=headers(signed_in, flow)
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "record 1 of 2" in html and ">POST</span>" in html
    assert "&#34;full_name&#34;: &#34;Ada&#34;" in html


def test_the_preview_says_what_is_missing(signed_in, flow):
    h = headers(signed_in, flow)
    url = f"{base(flow)}/request-preview"
    closed = signed_in.post(url, data={"sample": "paste", "sample_json": "{}"}, headers=h)
    assert "Open a form above" in closed.get_data(as_text=True)
    bad = signed_in.post(
        url, data={"sample": "paste", "sample_json": "{", "operation": "get"}, headers=h
    )
    assert bad.status_code == 200 and "Fix the sample above" in bad.get_data(as_text=True)
    missing = signed_in.post(
        url,
        data={
            "sample": "paste",
            "sample_json": RECORDS,
            "adaptor": "http@1",
            "operation": "get",
            "path-mode": "input",
            "path-value": "data.url",
        },
        headers=h,
    )
    assert "The sample has no data.url. data has: records." in missing.get_data(as_text=True)


def test_viewers_and_outsiders_cannot_use_the_mapper(app, db, project, flow):
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    client = app.test_client()
    log_in(client, viewer.email, factories.PASSWORD)
    assert client.get(f"{base(flow)}/samples", headers=HX).status_code == 403
    assert 'id="rb-mapper"' not in client.get(base(flow)).get_data(as_text=True)


def test_edit_line_reopens_a_laid_out_operation_from_any_of_its_rows(signed_in, flow):
    code = (
        "each(\n"
        "    S.data.records,\n"
        "    post(\n"
        '        "http://127.0.0.1:5999/records",\n'
        '        body={"full_name": S.data.name, "years": S.data.age, "source": "ferry"},\n'
        "    ),\n"
        ")"
    )
    body = f'log("start")\n{code}\nlog("end")'
    reply = signed_in.post(
        f"/projects/{flow.project_id}/workflows/request-form",
        data={"adaptor": "http@1", "body": body, "line_row": "4"},
        headers=headers(signed_in, flow),
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200, html
    assert 'name="line_row" value="1"' in html and 'name="line_end" value="7"' in html
    assert 'value="data.records"' in html and 'value="full_name"' in html
    written = signed_in.post(
        f"/projects/{flow.project_id}/workflows/request-line",
        data={
            "adaptor": "http@1",
            "operation": "post",
            "path-mode": "text",
            "path-value": "http://127.0.0.1:5999/records",
            "body-mode": "fields",
            "body-key": ["full_name", "years", "source"],
            "body-rowmode": ["input", "input", "text"],
            "body-rowvalue": ["data.name", "data.age", "ferry"],
            "each": "data.records",
            "line_row": "1",
            "line_end": "7",
        },
        headers=headers(signed_in, flow),
    )
    event = json.loads(written.headers["HX-Trigger"])["ferry:insert-line"]
    assert event == {"line": code, "row": 1, "end": 7}


def test_edit_line_with_the_cursor_on_an_empty_row_says_where_to_put_it(signed_in, flow):
    reply = signed_in.post(
        f"/projects/{flow.project_id}/workflows/request-form",
        data={"adaptor": "http@1", "body": 'get("/x")\n\n', "line_row": "1"},
        headers=headers(signed_in, flow),
    )
    assert reply.status_code == 422 and reply.headers["HX-Retarget"] == "#rb-message"
    assert "Put the cursor on a line" in reply.get_data(as_text=True)
