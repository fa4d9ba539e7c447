"""Retry policies through the JSON API and the builder's save: a workflow document with
policies round-trips through GET and PUT; a bad policy is a 422 naming its path, never a
500, and nothing is stored; the OpenAPI document describes the policy."""

from __future__ import annotations

import pytest
import yaml

from app.models import Workflow
from app.services import accounts
from app.services.workflows import store
from tests import factories
from tests.services.test_retry_documents import DOCUMENT
from tests.support import csrf_token_from


@pytest.fixture
def api(client, user):
    """A client sending the user's bearer token (as tests/web/conftest.py's `api`)."""
    token = accounts.create_api_token(user.email)

    def call(method, url, **kwargs):
        headers = {"Authorization": f"Bearer {token}"}
        return getattr(client, method)(f"/api/v1{url}", headers=headers, **kwargs)

    return call


def test_policies_round_trip_through_the_api(api, project, db):
    created = api("post", f"/projects/{project.id}/workflows", json=yaml.safe_load(DOCUMENT))
    assert created.status_code == 201, created.get_json()
    document = created.get_json()["document"]
    assert document["retry_policy"]["max_attempts"] == 4
    assert document["jobs"]["post"]["retry_policy"] == {"max_attempts": 1}

    document["jobs"]["fetch"]["retry_policy"]["max_delay_s"] = 120
    replaced = api("put", f"/workflows/{created.get_json()['id']}", json=document)
    assert replaced.status_code == 200, replaced.get_json()
    again = api("get", f"/workflows/{created.get_json()['id']}").get_json()["document"]
    assert again["jobs"]["fetch"]["retry_policy"]["max_delay_s"] == 120.0
    assert {k: v for k, v in again.items() if k != "jobs"} == {
        k: v for k, v in document.items() if k != "jobs"
    }


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        ({"max_attempts": 0}, "jobs.fetch.retry_policy.max_attempts", "from 1 to 20"),
        ({"max_attempts": "lots"}, "jobs.fetch.retry_policy.max_attempts", "whole number"),
        ({"retry_on": {"http_5xx": True}}, "jobs.fetch.retry_policy.retry_on", "a list"),
        ({"back_off": 2}, "jobs.fetch.retry_policy.back_off", "no setting 'back_off'"),
        ("twice", "jobs.fetch.retry_policy", "must be a mapping"),
    ],
)
def test_a_bad_policy_is_422_naming_its_path_and_nothing_is_stored(
    api, project, db, policy, field, words
):
    workflow = store.create_workflow(project.id, DOCUMENT)
    raw = yaml.safe_load(DOCUMENT)
    raw["name"] = "Renamed"
    raw["jobs"]["fetch"]["retry_policy"] = policy
    response = api("put", f"/workflows/{workflow.id}", json=raw)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["field"] == field and words in body["error"], body
    kept = store.get_workflow(workflow.id)
    assert (kept.name, kept.lock_version) == ("Retrying sync", 1)

    created = api("post", f"/projects/{project.id}/workflows", json={**raw, "name": "New"})
    assert created.status_code == 422
    assert db.session.query(Workflow).filter_by(project_id=project.id).count() == 1


def test_a_nul_in_a_policy_is_refused_by_the_api(api, project, db):
    raw = yaml.safe_load(DOCUMENT)
    raw["jobs"]["fetch"]["retry_policy"] = {"retry_on": ["http_5xx\u0000"]}
    response = api("post", f"/projects/{project.id}/workflows", json=raw)
    assert response.status_code in (400, 422)
    assert "NUL" in response.get_json()["error"]
    assert db.session.query(Workflow).count() == 0


def test_the_builder_save_refuses_a_bad_policy_with_its_path(signed_in, project, db):
    workflow = store.create_workflow(project.id, DOCUMENT)
    raw = yaml.safe_load(DOCUMENT)
    raw["retry_policy"] = {"jitter": 2}
    page = f"/projects/{project.id}/workflows/{workflow.id}"
    token = csrf_token_from(signed_in.get(page).get_data(as_text=True))
    response = signed_in.post(
        f"{page}/save",
        json={"document": raw, "positions": {}, "lock_version": 1},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["field"] == "retry_policy.jitter"
    assert store.get_workflow(workflow.id).lock_version == 1


def test_the_openapi_document_describes_retry_policies(client, db):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["WorkflowDocument"]["properties"]["retry_policy"] == {
        "$ref": "#/components/schemas/RetryPolicy"
    }
    policy = schemas["RetryPolicy"]
    assert policy["properties"]["retry_on"]["items"]["enum"] == [
        "connection",
        "timeout",
        "http_429",
        "http_5xx",
    ]
    assert policy["additionalProperties"] is False


def test_a_workflow_made_by_the_factories_has_no_policies(project, db):
    workflow = factories.workflow(project, name="Plain")
    assert workflow.retry_policy is None
    assert all(step.retry_policy is None for step in workflow.steps)
