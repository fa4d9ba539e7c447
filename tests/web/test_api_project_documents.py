"""The provisioning API: a project read as a JSON or YAML document (with ids on request),
changed by a document (or only planned, with ?dry_run=true), created from one by a
superuser; every problem answered at its path with nothing changed; roles; bad input."""

from __future__ import annotations

import uuid

import pytest
import yaml
from sqlalchemy import func, select

from app.models import AuditEvent, Role, Workflow
from app.services import accounts
from app.services.project_code import document
from tests import factories
from tests.services.project_code.sample_project import sample_project


@pytest.fixture
def clinic(user):
    return sample_project(user)


def url(project_id) -> str:
    return f"/projects/{project_id}/document"


def test_read_as_json_yaml_and_with_ids(api, clinic):
    plain = api.get(url(clinic.id))
    assert plain.status_code == 200
    assert plain.get_json() == document.export_project(clinic.id)
    as_yaml = api.get(url(clinic.id) + "?format=yaml")
    assert as_yaml.mimetype == "application/yaml"
    assert yaml.safe_load(as_yaml.get_data(as_text=True)) == plain.get_json()
    with_ids = api.get(url(clinic.id) + "?ids=true").get_json()
    assert with_ids["id"] == str(clinic.id)
    assert with_ids["workflows"]["patient-sync"]["lock_version"] == 1


def test_put_applies_and_answers_the_changes_and_the_document(api, clinic, user, db):
    doc = document.export_project(clinic.id, with_ids=True)
    doc["workflows"]["case-intake"]["jobs"]["receive"]["body"] = "log('v2')\n"
    response = api.put(url(clinic.id), json=doc)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["changes"] == [
        {"path": "workflows.case-intake.jobs.receive.body", "kind": "changed"}
    ]
    assert body["document"]["workflows"]["case-intake"]["lock_version"] == 2
    entry = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.project_id == clinic.id, AuditEvent.event == "document_applied"
        )
    )
    assert entry.actor_id == user.id
    assert entry.changes["changes"] == ["changed workflows.case-intake.jobs.receive.body"]


def test_put_accepts_yaml_and_dry_run_changes_nothing(api, clinic):
    doc = document.export_project(clinic.id)
    doc["description"] = "Planned only"
    text = document.to_yaml(doc)
    planned = api.put(
        url(clinic.id) + "?dry_run=true", data=text, headers={"Content-Type": "application/yaml"}
    )
    assert planned.status_code == 200
    assert planned.get_json()["changes"] == [{"path": "description", "kind": "changed"}]
    assert planned.get_json()["dry_run"] is True
    assert api.get(url(clinic.id)).get_json()["description"] == "Registrations from the clinics"
    applied = api.put(url(clinic.id), data=text)
    assert applied.get_json()["document"]["description"] == "Planned only"


def test_a_bad_document_is_422_with_every_problem_and_nothing_changes(api, clinic):
    before = api.get(url(clinic.id)).get_json()
    doc = document.export_project(clinic.id)
    doc["settings"]["require_mfa"] = "yes"
    doc["workflows"]["case-intake"]["jobs"]["receive"]["adaptor"] = 5
    doc["workflows"]["patient-sync"]["edges"]["fetch->load"]["target_job"] = "nowhere"
    doc["description"] = "Not saved"
    response = api.put(url(clinic.id), json=doc)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"]
    paths = [p["path"] for p in body["problems"]]
    assert paths[:3] == [
        "settings.require_mfa",
        "workflows.case-intake.jobs.receive.adaptor",
        "workflows.patient-sync.edges.fetch->load.target_job",
    ]
    assert api.get(url(clinic.id)).get_json() == before


@pytest.mark.parametrize(
    ("data", "content_type", "status", "words"),
    [
        ("name: [oops", "application/yaml", 400, "not valid YAML"),
        ('{"name": ', "application/json", 400, "not valid JSON"),
        ('{"name": "a\\u0000b"}', "application/json", 400, "NUL"),
        ("[" * 100 + "]" * 100, "application/json", 400, "nested too deeply"),
        (b"\xff\xfe", "application/yaml", 400, "UTF-8"),
        ("- a list\n", "application/yaml", 422, "must be a mapping"),
        ('"just text"', "application/json", 422, "must be a mapping"),
        ("", "application/yaml", 422, "must be a mapping"),
        (
            "name: x\nworkflows: {w: {id: 'not-an-id', delete: true}}",
            "application/yaml",
            422,
            "not a workflow id",
        ),
    ],
)
def test_bad_bodies_are_refused_and_say_why(api, clinic, data, content_type, status, words):
    response = api.put(url(clinic.id), data=data, headers={"Content-Type": content_type})
    assert response.status_code == status, response.get_json()
    assert words in str(response.get_json())


@pytest.mark.parametrize(
    "query", ["?format=xml", "?ids=maybe", "?dry_run=2", "?format=" + "y" * 50]
)
def test_bad_query_parameters_are_400(api, clinic, query):
    method = api.put if "dry_run" in query else api.get
    response = method(url(clinic.id) + query, json={"name": "x"})
    assert response.status_code == 400
    assert response.get_json()["field"] in ("format", "ids", "dry_run")


def test_editors_read_but_may_not_apply(client, clinic):
    editor = factories.user()
    factories.member(clinic, editor, Role.EDITOR)
    token = accounts.create_api_token(editor.email)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1{url(clinic.id)}", headers=headers).status_code == 200
    refused = client.put(f"/api/v1{url(clinic.id)}", json={"name": "x"}, headers=headers)
    assert refused.status_code == 403
    assert client.get(f"/api/v1{url(uuid.uuid4())}", headers=headers).status_code == 404


def test_superusers_create_a_project_from_a_document(client, clinic, db):
    boss = factories.user(superuser=True)
    factories.shared_dhis2_credential(boss, factories.project(boss), "x")
    headers = {"Authorization": f"Bearer {accounts.create_api_token(boss.email)}"}
    doc = document.export_project(clinic.id)
    doc["name"] = "Clinic copy"
    planned = client.post("/api/v1/projects/document?dry_run=true", json=doc, headers=headers)
    assert planned.status_code == 200 and planned.get_json()["changes"]
    named = select(func.count()).where(Workflow.name == "Case intake")
    assert db.session.scalar(named) == 1  # the plan created nothing
    created = client.post("/api/v1/projects/document", json=doc, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["document"]["name"] == "Clinic copy" and body["document"]["id"] != str(clinic.id)
    assert {c["path"] for c in body["changes"]} >= {"name", "workflows"}
    assert set(body["document"]["workflows"]) == {"case-intake", "patient-sync"}


def test_others_may_not_create_a_project_from_a_document(api):
    response = api.post("/projects/document", json={"name": "Mine"})
    assert response.status_code == 403
    assert "superusers" in response.get_json()["error"]


def test_the_openapi_document_describes_the_project_document(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "put"} <= set(spec["paths"]["/projects/{project_id}/document"])
    assert "post" in spec["paths"]["/projects/document"]
    assert "workflows" in spec["components"]["schemas"]["ProjectDocument"]["properties"]
