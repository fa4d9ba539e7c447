"""Sub-paths: `/i/<trigger>/<sub-path>` reaches the same trigger with GET, POST, PUT, PATCH
and DELETE, and the stored request tells the job the sub-path, method, query and headers,
minus every secret. Bad sub-paths are refused with a sentence, nothing stored."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from app.models import Dataclip, WebhookAuth, WorkOrder
from app.services.triggers import webhook_auth
from tests import factories


@pytest.fixture
def fhir(user, db):
    """A webhook trigger at the custom path "fhir"."""
    source = factories.SIMPLE_WORKFLOW.format(name="FHIR facade").replace(
        "    enabled: true\n", "    enabled: true\n    custom_path: fhir\n", 1
    )
    return factories.workflow(factories.project(user), source).triggers[0]


def stored_request(db, response) -> dict:
    work_order = db.session.get(WorkOrder, response.get_json()["work_order_id"])
    return db.session.get(Dataclip, work_order.dataclip_id).request


def stored(db) -> tuple[int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Dataclip, WorkOrder)
    )


def test_get_with_a_nested_path_and_query_becomes_a_work_order(client, fhir, db):
    response = client.get("/i/fhir/Patient/123/_history/2?_format=json&_elements=name,birthDate")
    assert response.status_code == 200
    request = stored_request(db, response)
    assert request["method"] == "GET"
    assert request["subpath"] == "Patient/123/_history/2"
    assert request["path"] == "/i/fhir/Patient/123/_history/2"
    assert request["query"] == {"_format": ["json"], "_elements": ["name,birthDate"]}


def test_post_to_a_sub_path_keeps_the_body(client, fhir, db):
    response = client.post("/i/fhir/Patient", json={"resourceType": "Patient", "active": True})
    assert response.status_code == 200
    work_order = db.session.get(WorkOrder, response.get_json()["work_order_id"])
    clip = db.session.get(Dataclip, work_order.dataclip_id)
    assert clip.body == {"resourceType": "Patient", "active": True}
    assert clip.request["subpath"] == "Patient" and clip.request["method"] == "POST"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_reach_the_trigger(client, fhir, db, method):
    response = getattr(client, method)("/i/fhir/Patient/123", json={"id": "123"})
    assert response.status_code == 200
    assert stored_request(db, response)["method"] == method.upper()


def test_the_trigger_id_takes_sub_paths_too(client, fhir, db):
    response = client.get(f"/i/{fhir.id}/Observation?patient=123")
    assert response.status_code == 200
    assert stored_request(db, response)["subpath"] == "Observation"


def test_the_trigger_itself_has_an_empty_sub_path(client, fhir, db):
    response = client.post("/i/fhir", json={})
    assert stored_request(db, response)["subpath"] == ""


def test_head_stores_nothing(client, fhir, db):
    assert client.head("/i/fhir/Patient/123").status_code == 200
    assert stored(db) == (0, 0)


def test_secrets_are_not_in_the_stored_request(client, fhir, db):
    key = webhook_auth.configure_webhook_auth(fhir.id, WebhookAuth.API_KEY)
    client.set_cookie("session", "abc")  # the test client sends its jar, not a Cookie header
    response = client.get("/i/fhir/Patient/123", headers={"x-api-key": key, "X-Trace": "t-1"})
    assert response.status_code == 200
    request = stored_request(db, response)
    assert request["headers"]["x-api-key"] == "[REDACTED]"
    assert request["headers"]["cookie"] == "[REDACTED]"
    assert request["headers"]["x-trace"] == "t-1"
    assert key not in json.dumps(request) and "session=abc" not in json.dumps(request)


def test_basic_auth_is_not_in_the_stored_request(client, fhir, db):
    password = webhook_auth.configure_webhook_auth(fhir.id, WebhookAuth.BASIC, username="emr")
    token = base64.b64encode(f"emr:{password}".encode()).decode()
    response = client.delete("/i/fhir/Patient/9", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200
    request = stored_request(db, response)
    assert request["headers"]["authorization"] == "[REDACTED]"
    assert token not in json.dumps(request)


def test_a_wrong_key_on_a_sub_path_is_404_like_the_trigger(client, fhir, db):
    webhook_auth.configure_webhook_auth(fhir.id, WebhookAuth.API_KEY)
    response = client.get("/i/fhir/Patient/1", headers={"x-api-key": "guess"})
    assert response.status_code == 404
    assert stored(db) == (0, 0)


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/i/fhir/Patient/%00", 400, "control character"),
        ("/i/fhir/Patient/1%09x", 400, "control character"),
        # Werkzeug's routes never match a newline: the app's own 404 sentence answers.
        ("/i/fhir/Patient/1%0A2", 404, "There is nothing here"),
        ("/i/fhir/Patient/%2e%2e/secrets", 400, '".."'),
        ("/i/fhir/./Patient", 400, '"."'),
        ("/i/fhir/" + "a/" * 600, 400, "too long"),
        ("/i/no-such-trigger/Patient/1", 404, "No webhook trigger"),
    ],
    ids=["nul", "tab", "newline", "dot-dot", "dot", "overlong", "unknown-trigger"],
)
def test_a_bad_sub_path_is_refused_with_a_sentence(client, fhir, db, path, status, says):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == status
        assert says in response.get_json()["error"]
    assert stored(db) == (0, 0)
