"""The JSON API refuses bad bodies and wrong types with 4xx naming the field, never a 500, and
stores nothing half-way."""

from __future__ import annotations

import json

import pytest

from app.models import Project, Run, RunState, Workflow, WorkOrder
from app.services.workflows import export, store
from tests import factories

DOC = factories.SIMPLE_WORKFLOW.format(name="Intake")

DEEP_JSON = '{"name": "Deep", "jobs": ' + "[" * 100_000 + "]" * 100_000 + "}"
DEEP_YAML = "name: Deep\njobs: " + "[" * 5_000 + "]" * 5_000 + "\n"


@pytest.fixture
def project(user, db):
    return factories.project(user, "API project")


def refused(response, field: str, words: str, status: int = 422) -> dict:
    """The JSON error of a refused request, checked for status, field and message."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["field"] == field, body
    assert words in body["error"], body
    return body


def test_a_project_name_that_is_not_text_is_refused(api, db):
    refused(api.post("/projects", json={"name": 5}), "name", "must be text")
    refused(api.post("/projects", json={"name": "Ok", "description": []}), "description", "text")
    assert db.session.query(Project).count() == 0


def test_a_malformed_json_body_is_400_saying_where(api, db):
    response = api.post("/projects", data='{"name": ', content_type="application/json")
    body = refused(response, "body", "The body is not valid JSON", status=400)
    assert "line 1, column 10" in body["error"]


def test_a_json_list_body_is_refused(api, project, db):
    refused(api.post("/projects", json=["name"]), "body", "JSON object")
    workflow = factories.workflow(project)
    refused(api.post(f"/workflows/{workflow.id}/runs", json=[1]), "body", "JSON object")
    run_id = api.post(f"/workflows/{workflow.id}/runs", json={}).get_json()["run_id"]
    refused(api.post(f"/runs/{run_id}/retry", json=[1]), "body", "JSON object")


def test_a_nul_character_in_a_body_is_refused(api, db):
    response = api.post("/projects", json={"name": "Farm\u0000ers"})
    assert response.status_code in (400, 422)
    assert "NUL" in response.get_json()["error"]
    assert db.session.query(Project).count() == 0


def test_a_malformed_run_body_does_not_start_a_run_with_empty_input(api, project, db):
    workflow = factories.workflow(project)
    response = api.post(
        f"/workflows/{workflow.id}/runs", data="{input: 1}", content_type="application/json"
    )
    refused(response, "body", "not valid JSON", status=400)
    assert db.session.query(Run).count() == 0


@pytest.mark.parametrize(
    ("text", "content_type"),
    [(DEEP_JSON, "application/json"), (DEEP_YAML, "application/yaml")],
    ids=["json", "yaml"],
)
def test_a_deeply_nested_document_is_refused_on_create_and_replace(
    api, project, db, text, content_type
):
    url = f"/projects/{project.id}/workflows"
    response = api.post(url, data=text, content_type=content_type)
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    assert "nested too deeply" in response.get_json()["error"]
    assert db.session.query(Workflow).count() == 0

    workflow = factories.workflow(project, name="Kept")
    response = api.put(f"/workflows/{workflow.id}", data=text, content_type=content_type)
    assert response.status_code in (400, 422)
    assert "nested too deeply" in response.get_json()["error"]
    kept = store.get_workflow(workflow.id)
    assert kept.name == "Kept" and kept.lock_version == 1


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ('{"name": "Busy", "concurrency": 1e30}', "application/json"),
        ('{"name": "Busy", "concurrency": 1000000000000000000000000000000}', "application/json"),
        ("name: Busy\nconcurrency: 1e30\n", "application/yaml"),
        ("name: Busy\nconcurrency: 1.0e+30\n", "application/yaml"),
    ],
)
def test_a_huge_concurrency_is_refused(api, project, db, text, content_type):
    response = api.post(f"/projects/{project.id}/workflows", data=text, content_type=content_type)
    refused(response, "concurrency", "whole number")
    assert db.session.query(Workflow).count() == 0


def test_a_condition_label_that_is_not_text_is_refused(api, project, db):
    document = export.export_document(factories.workflow(project, name="Labels"))
    document["name"] = "Labelled"
    document["edges"]["webhook->first"]["condition_label"] = {"a": 1}
    response = api.post(f"/projects/{project.id}/workflows", json=document)
    refused(response, "edges.webhook->first.condition_label", "text")
    assert db.session.query(Workflow).count() == 1


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("name",), 5, "name"),
        (("jobs", "first", "name"), ["x"], "jobs.first.name"),
        (("jobs", "first", "name"), "x" * 201, "jobs.first.name"),
        (("jobs", "first", "adaptor"), 1, "jobs.first.adaptor"),
        (("jobs", "first", "body"), {"code": 1}, "jobs.first.body"),
        (("triggers", "webhook", "enabled"), "yes", "triggers.webhook.enabled"),
        (("edges", "webhook->first", "target_job"), ["first"], "edges.webhook->first.target_job"),
        (("edges", "webhook->first", "source_trigger"), {}, "edges.webhook->first.source_trigger"),
        (("edges", "webhook->first", "condition_type"), [], "edges.webhook->first.condition_type"),
        (("triggers",), [1], "triggers"),
    ],
)
def test_wrong_types_in_a_document_are_refused_with_their_path(
    api, project, db, path, value, field
):
    document = json.loads(json.dumps(export.export_document(factories.workflow(project))))
    document["name"] = "Typed"
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    response = api.post(f"/projects/{project.id}/workflows", json=document)
    refused(response, field, "")
    assert db.session.query(Workflow).count() == 1


def test_a_document_error_lists_every_problem_with_its_path(api, project, db):
    document = {
        "name": "Two problems",
        "jobs": {"a": {"adaptor": "nosuch@1"}, "b": {"adaptor": "http@1", "body": 5}},
    }
    body = refused(
        api.post(f"/projects/{project.id}/workflows", json=document), "jobs.a.adaptor", ""
    )
    assert [p["path"] for p in body["problems"]] == ["jobs.a.adaptor", "jobs.b.body"]


def test_a_lock_version_that_is_not_a_number_is_refused_and_nothing_is_replaced(api, project, db):
    workflow = factories.workflow(project, name="Locked")
    renamed = DOC.replace("name: Intake", "name: Overwritten")
    response = api.put(
        f"/workflows/{workflow.id}?lock_version=abc", data=renamed, content_type="application/yaml"
    )
    refused(response, "lock_version", "whole number", status=400)
    kept = store.get_workflow(workflow.id)
    assert kept.name == "Locked" and kept.lock_version == 1


def test_a_page_size_that_is_not_a_number_is_refused(api, project, db):
    refused(api.get(f"/projects/{project.id}/runs?limit=abc"), "limit", "whole number", 400)


@pytest.fixture
def failed_work_order(api, project, db):
    workflow = factories.workflow(project)
    run_id = api.post(f"/workflows/{workflow.id}/runs", json={}).get_json()["run_id"]
    db.session.get(Run, run_id).state = RunState.FAILED
    db.session.commit()
    return db.session.get(Run, run_id).work_order_id


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"work_order_ids": 5}, "work_order_ids", "list"),
        ({"work_order_ids": "abc"}, "work_order_ids", "list"),
        ({"work_order_ids": [{"a": 1}]}, "work_order_ids", "id"),
        ({"filter": {}, "step": {"key": "first"}}, "step", "text"),
        ({"filter": []}, "filter", "object"),
        ({"filter": {"state": {"a": 1}}}, "filter.state", "state"),
        ([1, 2], "body", "JSON object"),
    ],
)
def test_bad_bulk_rerun_bodies_are_refused(api, project, db, failed_work_order, body, field, words):
    response = api.post(f"/projects/{project.id}/bulk_rerun", json=body)
    refused(response, field, words)
    assert db.session.query(WorkOrder).count() == 1


def test_the_openapi_document_describes_400_and_the_problem_list(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "400" in spec["paths"]["/workflows/{workflow_id}"]["put"]["responses"]
    assert "problems" in spec["components"]["schemas"]["Error"]["properties"]
