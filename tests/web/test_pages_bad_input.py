"""HTML forms and the builder's JSON endpoints refuse unreadable or too-deep documents with a
message on the same page (or a JSON error), never a 500, and store nothing."""

from __future__ import annotations

import re

import pytest

from app.models import Credential, Workflow
from app.services.workflows import export, store
from tests import factories
from tests.support import csrf_token_from, post_form
from tests.web.test_workflows_pages import SOURCE, _base

DEEP_YAML = "name: Deep\njobs: " + "[" * 5_000 + "]" * 5_000 + "\n"
DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def project(db, user):
    return factories.project(user, "Health data")


@pytest.fixture
def flow(project):
    return factories.workflow(project, SOURCE.format(name="Patient sync"))


def test_the_import_form_refuses_a_deeply_nested_document_on_the_page(signed_in, project, db):
    base = _base(project)
    response = post_form(signed_in, f"{base}/new", f"{base}/import", {"document": DEEP_YAML})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "nested too deeply" in html
    assert 'name="document"' in html  # the same page, with the form to correct
    assert db.session.query(Workflow).count() == 0


def test_the_import_form_shows_every_problem_with_its_path(signed_in, project, db):
    base = _base(project)
    bad = SOURCE.format(name="Two problems").replace("http@1", "nosuch@1")
    bad = bad.replace("target_job: send", "target_job: nowhere")
    response = post_form(signed_in, f"{base}/new", f"{base}/import", {"document": bad})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "jobs.send.adaptor: Unknown adaptor" in html
    assert "edges.webhook-&gt;send.target_job: There is no job" in html


def _headers(client, base: str) -> dict:
    # Any page of the project carries the session's CSRF token; the list page is the lightest.
    token = csrf_token_from(client.get(base.rsplit("/", 1)[0] + "/new").get_data(as_text=True))
    return {"X-CSRFToken": token, "Content-Type": "application/json"}


def test_builder_validation_refuses_a_deeply_nested_body(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    body = '{"document": ' + DEEP_JSON + "}"
    reply = signed_in.post(f"{base}/validate", data=body, headers=_headers(signed_in, base))
    assert reply.status_code == 400
    assert "nested too deeply" in reply.json["error"] and reply.json["field"] == "body"


def test_builder_validation_refuses_a_malformed_body(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    reply = signed_in.post(f"{base}/validate", data="{", headers=_headers(signed_in, base))
    assert reply.status_code == 400
    assert reply.json["error"].startswith("The body is not valid JSON")


def test_builder_save_refuses_a_deeply_nested_body_and_keeps_the_workflow(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    body = '{"lock_version": 1, "document": ' + DEEP_JSON + "}"
    reply = signed_in.post(f"{base}/save", data=body, headers=_headers(signed_in, base))
    assert reply.status_code == 400
    assert "nested too deeply" in reply.json["error"]
    assert store.get_workflow(flow.id).lock_version == 1


def test_builder_validation_lists_wrong_types_with_their_paths(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    document = export.export_document(flow)
    document["edges"]["webhook->send"]["condition_label"] = {"a": 1}
    document["concurrency"] = 10**30
    reply = signed_in.post(
        f"{base}/validate", json={"document": document}, headers=_headers(signed_in, base)
    )
    assert reply.status_code == 200
    problems = {p["path"]: p for p in reply.json["problems"]}
    assert set(problems["concurrency"]) == {"path", "message", "level"}
    assert "whole number" in problems["concurrency"]["message"]
    assert "text" in problems["edges.webhook->send.condition_label"]["message"]


def test_a_raw_credential_that_is_nested_too_deeply_is_refused_on_the_field(signed_in, db):
    data = {"name": "Deep", "schema": "raw", "body.body": '{"a": ' + DEEP_JSON + "}"}
    response = post_form(signed_in, "/credentials/new/raw", "/credentials", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'id="field-body-error">([^<]*)<', html)
    assert error and "nested too deeply" in error.group(1)
    assert db.session.query(Credential).count() == 0


def test_a_raw_credential_with_a_nul_character_is_refused_on_the_field(signed_in, db):
    data = {"name": "Nul", "schema": "raw", "body.body": '{"a": "x\\u0000y"}'}
    response = post_form(signed_in, "/credentials/new/raw", "/credentials", data)
    assert response.status_code == 422
    error = re.search(r'id="field-body-error">([^<]*)<', response.get_data(as_text=True))
    assert error and "NUL" in error.group(1)
    assert db.session.query(Credential).count() == 0


def test_a_json_field_of_a_credential_form_refuses_deep_nesting_too():
    # No adaptor's credential schema has an object field today; the reader is ready for one.
    from app.services.credentials import forms

    field = forms.SchemaField(name="extra", label="Extra", kind="json", required=False)
    with pytest.raises(ValueError, match="nested too deeply"):
        forms._convert(field, DEEP_JSON)
    assert forms._convert(field, '{"a": [1]}') == {"a": [1]}
