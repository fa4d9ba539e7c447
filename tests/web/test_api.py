"""The JSON API: tokens, roles, workflows as documents, runs, retries and bulk reruns."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from app.extensions import DEFAULT_QUEUE
from app.models import Role, Run, RunState, WorkOrder
from tests import factories

DOC = factories.SIMPLE_WORKFLOW.format(name="Intake")


@pytest.fixture
def project(user, db):
    return factories.project(user, "API project")


def test_no_or_bad_token_is_401(client, db):
    assert client.get("/api/v1/projects").status_code == 401
    response = client.get("/api/v1/projects", headers={"Authorization": "Bearer fry_wrong"})
    assert response.status_code == 401
    assert "ferry create-token" in response.get_json()["error"]


def test_openapi_document_describes_the_api(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/workflows/{workflow_id}/runs" in spec["paths"]
    assert "/runs/{run_id}/retry" in spec["paths"]


def test_create_and_list_projects(api, db):
    created = api.post("/projects", json={"name": "Farmers savings"})
    assert created.status_code == 201
    listed = api.get("/projects").get_json()["projects"]
    assert [(p["name"], p["role"]) for p in listed] == [("Farmers savings", "owner")]
    assert api.post("/projects", json={"name": ""}).get_json()["field"] == "name"


def test_workflow_lifecycle_from_yaml(api, project, db, app):
    created = api.post(
        f"/projects/{project.id}/workflows", data=DOC, content_type="application/yaml"
    )
    assert created.status_code == 201
    body = created.get_json()
    webhook = body["triggers"][0]
    base = app.config["FERRY_SETTINGS"].base_url
    assert webhook["webhook_url"] == f"{base}/i/{webhook['id']}"
    assert body["document"]["jobs"]["first"]["adaptor"] == "common@1"

    fetched = api.get(f"/workflows/{body['id']}").get_json()
    assert fetched["lock_version"] == 1
    renamed = DOC.replace("name: Intake", "name: Intake v2")
    replaced = api.put(
        f"/workflows/{body['id']}?lock_version=1", data=renamed, content_type="application/yaml"
    )
    assert replaced.status_code == 200 and replaced.get_json()["name"] == "Intake v2"
    stale = api.put(
        f"/workflows/{body['id']}?lock_version=1", data=DOC, content_type="application/yaml"
    )
    assert stale.status_code == 409
    assert api.delete(f"/workflows/{body['id']}").status_code == 204
    assert api.get(f"/workflows/{body['id']}").status_code == 404


def test_invalid_document_names_the_field(api, project, db):
    bad = DOC.replace("adaptor: common@1", "adaptor: nosuch@1")
    response = api.post(
        f"/projects/{project.id}/workflows", data=bad, content_type="application/yaml"
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "jobs.first.adaptor"


def test_roles_are_enforced(api, user, db):
    owner = factories.user()
    theirs = factories.project(owner, "Theirs")
    workflow = factories.workflow(theirs)
    assert api.get(f"/workflows/{workflow.id}").status_code == 404  # not a member
    factories.member(theirs, user, Role.VIEWER)
    assert api.get(f"/workflows/{workflow.id}").status_code == 200
    refused = api.post(f"/workflows/{workflow.id}/runs", json={})
    assert refused.status_code == 403
    assert "editor" in refused.get_json()["error"]
    assert (
        api.post(
            f"/projects/{theirs.id}/workflows", data=DOC, content_type="application/yaml"
        ).status_code
        == 403
    )


def test_start_get_list_cancel_a_run(api, project, db):
    workflow = factories.workflow(project)
    started = api.post(f"/workflows/{workflow.id}/runs", json={"input": {"data": {"n": 1}}})
    assert started.status_code == 201
    run_id = started.get_json()["run_id"]
    run = api.get(f"/runs/{run_id}").get_json()
    assert run["state"] == "available" and run["priority"] == 0 and run["steps"] == []
    listed = api.get(f"/projects/{project.id}/runs?state=available").get_json()
    assert [r["id"] for r in listed["runs"]] == [run_id]
    assert api.post(f"/runs/{run_id}/retry", json={}).status_code == 409  # not finished
    assert api.post(f"/runs/{run_id}/cancel").get_json()["state"] == "cancelled"
    assert api.post(f"/runs/{run_id}/cancel").status_code == 409
    work_order = api.get(f"/work_orders/{started.get_json()['work_order_id']}").get_json()
    assert work_order["state"] == "cancelled"


def test_runs_are_paged_by_keyset(api, project, db):
    workflow = factories.workflow(project)
    ids = [
        api.post(f"/workflows/{workflow.id}/runs", json={}).get_json()["run_id"] for _ in range(5)
    ]
    first = api.get(f"/projects/{project.id}/runs?limit=2").get_json()
    assert [r["id"] for r in first["runs"]] == ids[::-1][:2]
    api.post(f"/workflows/{workflow.id}/runs", json={})  # arrives while paging
    second = api.get(f"/projects/{project.id}/runs?limit=2&cursor={first['next_cursor']}")
    assert [r["id"] for r in second.get_json()["runs"]] == ids[::-1][2:4]
    bad = api.get(f"/projects/{project.id}/runs?cursor=nonsense")
    assert bad.status_code == 422 and bad.get_json()["field"] == "cursor"


def test_retry_and_bulk_rerun_create_new_runs(api, project, db, settings):
    workflow = factories.workflow(project)
    run_ids = [
        api.post(f"/workflows/{workflow.id}/runs", json={}).get_json()["run_id"] for _ in range(3)
    ]
    for run_id in run_ids:  # finished runs, as a worker would leave them
        db.session.get(Run, run_id).state = RunState.FAILED
    db.session.commit()
    retried = api.post(f"/runs/{run_ids[0]}/retry", json={"snapshot": "original"})
    assert retried.status_code == 201
    assert (
        retried.get_json()["work_order_id"]
        == api.get(f"/runs/{run_ids[0]}").get_json()["work_order_id"]
    )

    project_id = project.id  # the in-process worker below ends the test's session
    accepted = api.post(f"/projects/{project_id}/bulk_rerun", json={"filter": {}})
    assert accepted.status_code == 202
    job = accepted.get_json()
    assert job["work_orders"] == 3
    redis = Redis.from_url(settings.redis_url)
    SimpleWorker([Queue(DEFAULT_QUEUE, connection=redis)], connection=redis).work(burst=True)
    progress = api.get(f"/projects/{project_id}/bulk_rerun/{job['bulk_rerun_id']}").get_json()
    # The first work order's latest run is the unfinished retry: skipped, not doubled.
    assert progress == {"total": 3, "done": 3, "created": 2, "skipped": 1, "state": "finished"}
    assert db.session.query(Run).count() == 3 + 1 + 2
    assert db.session.query(WorkOrder).count() == 3
