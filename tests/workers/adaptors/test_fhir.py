"""The fhir adaptor against a local stand-in for a FHIR R4 server."""

from __future__ import annotations

import pytest

from tests.workers.adaptors.servers import EchoServer, FakeFhir
from workers.adaptors import fhir
from workers.runtime.errors import JobError
from workers.runtime.lazy import S

FHIR_JSON = "application/fhir+json"


@pytest.fixture
def server():
    """The stand-in FHIR server, two entries per search page."""
    with FakeFhir(page_size=2) as running:
        yield running


@pytest.fixture
def state(server):
    """A state with a bearer-token credential for the stand-in."""
    config = {"base_url": server.base, "access_token": FakeFhir.TOKEN}
    return {"configuration": config, "data": {"family": "Okafor"}}


def patient(family: str) -> dict:
    """A minimal Patient."""
    return {"resourceType": "Patient", "name": [{"family": family}], "gender": "female"}


def test_create_posts_fhir_json_and_returns_the_stored_resource(server, state):
    body = {"name": [{"family": S.data.family}], "gender": "female"}
    result = fhir.create("Patient", body)(state)

    request = server.last
    assert (request.method, request.path) == ("POST", "/fhir/Patient")
    assert request.headers["content-type"] == FHIR_JSON
    assert request.headers["accept"] == FHIR_JSON
    assert request.headers["authorization"] == f"Bearer {FakeFhir.TOKEN}"
    assert request.json() == {**patient("Okafor"), "resourceType": "Patient"}
    assert result["data"]["id"] == "1"
    assert result["data"]["meta"]["versionId"] == "1"
    assert result["response"]["status"] == 201
    assert result["response"]["headers"]["location"].endswith("/fhir/Patient/1/_history/1")


def test_create_refuses_a_mismatched_resource_type(server, state):
    with pytest.raises(JobError, match="resourceType 'Observation', not 'Patient'"):
        fhir.create("Patient", {"resourceType": "Observation"})(state)
    with pytest.raises(JobError, match="not a FHIR resource type"):
        fhir.create("../metadata", {})(state)
    assert server.requests == []


def test_read_and_update(server, state):
    fhir.create("Patient", patient("A"))(state)
    read = fhir.read("Patient", "1")(state)
    assert server.last.path == "/fhir/Patient/1"
    assert read["data"]["name"] == [{"family": "A"}]

    updated = fhir.update("Patient", "1", {**read["data"], "gender": "male"})(state)
    assert (server.last.method, server.last.path) == ("PUT", "/fhir/Patient/1")
    assert server.last.json()["id"] == "1"
    assert updated["data"]["gender"] == "male"
    with pytest.raises(JobError, match="not a FHIR id"):
        fhir.read("Patient", "1/../../x")(state)


def test_operation_outcome_diagnostics_become_the_error(server, state):
    with pytest.raises(JobError) as failure:
        fhir.read("Patient", "404")(state)
    assert failure.value.message == (
        f"GET {server.base}/Patient/404 returned 404 Not Found: "
        "error: HAPI-2001: Resource Patient/404 is not known"
    )
    wrong = {"configuration": {"base_url": server.base, "access_token": "nope"}}
    with pytest.raises(JobError, match="HAPI-0644: Missing or invalid bearer token"):
        fhir.read("Patient", "1")(wrong)


def test_search_returns_the_bundle_and_can_follow_every_page(server, state):
    for family in ("A", "B", "C", "D", "E"):
        fhir.create("Patient", patient(family))(state)

    first = fhir.search("Patient", {"gender": "female", "_count": 2})(state)
    assert server.last.path == "/fhir/Patient"
    assert server.last.param("gender") == "female"
    assert first["data"]["resourceType"] == "Bundle"
    assert len(first["data"]["entry"]) == 2
    assert any(link["relation"] == "next" for link in first["data"]["link"])

    before = len(server.requests)
    every = fhir.search("Patient", {"gender": "female"}, all_pages=True)(state)
    assert len(server.requests) - before == 3
    families = [e["resource"]["name"][0]["family"] for e in every["data"]["entry"]]
    assert families == ["A", "B", "C", "D", "E"]
    assert every["data"]["total"] == 5
    assert [link["relation"] for link in every["data"]["link"]] == ["self"]
    assert server.last.param("_getpages") == "Patient"


def test_search_refuses_next_links_to_another_origin(server, state):
    with EchoServer() as elsewhere:
        server.next_origin = elsewhere.origin
        for family in ("A", "B", "C"):
            fhir.create("Patient", patient(family))(state)
        with pytest.raises(JobError, match=f"refusing to send credentials to {elsewhere.origin}"):
            fhir.search("Patient", all_pages=True)(state)
        assert elsewhere.requests == []


def test_transaction_from_entries_and_bare_resources(server, state):
    entries = [
        patient("T1"),
        {**patient("T2"), "id": "p-2"},
        {"resource": patient("T3"), "request": {"method": "POST", "url": "Patient"}},
    ]
    result = fhir.transaction(entries)(state)
    request = server.last
    assert (request.method, request.path) == ("POST", "/fhir")
    sent = request.json()
    assert (sent["resourceType"], sent["type"]) == ("Bundle", "transaction")
    assert [e["request"] for e in sent["entry"]] == [
        {"method": "POST", "url": "Patient"},
        {"method": "PUT", "url": "Patient/p-2"},
        {"method": "POST", "url": "Patient"},
    ]
    assert result["data"]["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["data"]["entry"]]
    assert statuses == ["201 Created", "200 OK", "201 Created"]


def test_transaction_takes_a_bundle_and_refuses_other_bundle_types(server, state):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [patient("B")]}
    assert fhir.transaction(bundle)(state)["response"]["status"] == 200
    with pytest.raises(JobError, match="type 'searchset' cannot be posted"):
        fhir.transaction({"resourceType": "Bundle", "type": "searchset"})(state)


def test_basic_auth_and_base_url_required(server):
    config = {"base_url": server.base, "username": "u", "password": "p"}
    with pytest.raises(JobError, match="401"):
        fhir.read("Patient", "1")({"configuration": config})
    assert server.last.headers["authorization"] == "Basic dTpw"
    with pytest.raises(JobError, match="needs a base_url"):
        fhir.read("Patient", "1")({"configuration": {}})
