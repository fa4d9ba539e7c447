"""The `collections.*` operations in the Studio: the adaptor reference lists them, the request
builder opens a form for each, writes the dotted call, reads it back with Edit line, and
answers a bad value with a 422 naming the field to fix."""

from __future__ import annotations

import json
import re

from tests.support import csrf_token_from

HX = {"HX-Request": "true"}


def url(flow, path: str) -> str:
    return f"/projects/{flow.project_id}/workflows/{path}"


def headers(client, flow) -> dict:
    page = client.get(f"/projects/{flow.project_id}/workflows/{flow.id}").get_data(as_text=True)
    return {**HX, "X-CSRFToken": csrf_token_from(page)}


def test_the_adaptor_reference_shows_the_collections_operations(signed_in, flow):
    html = signed_in.get(url(flow, "adaptor-docs?adaptor=common"), headers=HX).get_data(True)
    for name in ("collections.get", "collections.set", "collections.remove", "collections.each"):
        assert f'<code class="fw-semibold">{name}</code>' in html
        # The toolbar labels a family's operation by the name jobs call it by.
        assert f'<option value="{name}">{name}</option>' in html
    assert '<option value="fn">common.fn</option>' in html
    assert "Keeping a &#34;since&#34; cursor between runs" in html
    assert "key_or_pattern" in html


def test_the_request_form_of_a_collections_operation_has_its_parameters(signed_in, flow):
    reply = signed_in.get(
        url(flow, "request-form?adaptor=common&operation=collections.set"), headers=HX
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert 'data-operation="collections.set"' in html
    assert 'name="operation" value="collections.set"' in html
    for param in ("name", "key", "value"):
        assert f'data-param="{param}"' in html


def test_the_form_writes_a_collections_call_repeated_for_each_item(signed_in, flow):
    sent = {
        "adaptor": "common",
        "operation": "collections.set",
        "name-mode": "text",
        "name-value": "patients-seen",
        "key-mode": "input",
        "key-value": "data.id",
        "value-mode": "input",
        "value-value": "data",
        "each": "data.patients",
    }
    reply = signed_in.post(url(flow, "request-line"), data=sent, headers=headers(signed_in, flow))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    line = json.loads(reply.headers["HX-Trigger"])["ferry:insert-line"]["line"]
    assert line == 'each(S.data.patients, collections.set("patients-seen", S.data.id, S.data))'


def test_edit_line_reopens_a_collections_call_in_its_form(signed_in, flow):
    line = 'each(S.data.patients, collections.set("patients-seen", S.data.id, S.data))'
    reply = signed_in.post(
        url(flow, "request-form"),
        data={"adaptor": "common", "line": line, "line_row": "2"},
        headers=headers(signed_in, flow),
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200, html
    assert 'data-operation="collections.set"' in html and "Update line" in html
    assert 'value="patients-seen"' in html and 'value="data.id"' in html
    assert 'value="data.patients"' in html


def test_a_missing_collection_name_shows_the_form_again_at_that_field(signed_in, flow):
    sent = {
        "adaptor": "common",
        "operation": "collections.get",
        "name-mode": "text",
        "name-value": "",
        "key_or_pattern-mode": "text",
        "key_or_pattern-value": "2024-*",
    }
    reply = signed_in.post(url(flow, "request-line"), data=sent, headers=headers(signed_in, flow))
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert re.search(r'data-param-error="name" role="alert">Collection is required\.', html)
    assert 'value="2024-*"' in html  # what was typed is kept


def test_an_unknown_collections_operation_is_refused_naming_the_choices(signed_in, flow):
    reply = signed_in.post(
        url(flow, "request-form"),
        data={"adaptor": "common", "line": 'collections.fetch("patients", "k")'},
        headers=headers(signed_in, flow),
    )
    text = reply.get_data(as_text=True)
    assert reply.status_code == 422 and reply.headers["HX-Retarget"] == "#rb-message"
    assert "Choose an operation of this adaptor" in text and "collections.each" in text
    nested = signed_in.post(
        url(flow, "request-form"),
        data={"adaptor": "common", "line": 'ferry.collections.get("patients", "k")'},
        headers=headers(signed_in, flow),
    )
    assert nested.status_code == 422
    assert "not an operation call the form can open" in nested.get_data(as_text=True)
