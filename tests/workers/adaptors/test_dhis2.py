"""The dhis2 adaptor against a local stand-in for DHIS2's Web API."""

from __future__ import annotations

import base64

import pytest

from tests.workers.adaptors.servers import FakeDhis2
from workers.adaptors import dhis2, operations
from workers.runtime.compiler import compile_job
from workers.runtime.errors import JobError
from workers.runtime.lazy import S
from workers.runtime.logs import LogLine, capture

BASIC = "Basic " + base64.b64encode(b"admin:district").decode()


@pytest.fixture
def server():
    """The stand-in DHIS2."""
    with FakeDhis2() as running:
        yield running


@pytest.fixture
def state(server):
    """A state with a username/password credential for the stand-in."""
    config = {"base_url": server.origin, "username": "admin", "password": "district"}
    return {"configuration": config, "data": {"name": "Ana", "code": "OU_1"}}


def test_create_tracked_entity_goes_through_the_sync_tracker_importer(server, state):
    entity = {"orgUnit": "DiszpKrYNg8", "trackedEntityType": "nEenWmSyUEp"}
    result = dhis2.create("trackedEntities", {**entity, "name": S.data.name})(state)

    request = server.last
    assert (request.method, request.path) == ("POST", "/api/tracker")
    assert request.param("async") == "false"
    assert request.param("importStrategy") == "CREATE"
    assert request.headers["authorization"] == BASIC
    assert request.json() == {"trackedEntities": [{**entity, "name": "Ana"}]}
    assert result["data"]["status"] == "OK"
    assert result["data"]["stats"]["created"] == 1
    assert result["response"]["status"] == 200


def test_tracker_validation_errors_raise_with_dhis2_messages(server, state):
    with pytest.raises(JobError) as failure:
        dhis2.create("events", [{"program": "IpHINAT79UW"}])(state)
    message = failure.value.message
    assert f"POST {server.origin}/api/tracker returned 409 Conflict" in message
    assert "Could not find OrganisationUnit: ``, linked to EVENT." in message


def test_create_metadata_and_a_409_import_error(server, state):
    result = dhis2.create("organisationUnits", {"name": "Ngelehun", "shortName": "N"})(state)
    assert (server.last.method, server.last.path) == ("POST", "/api/organisationUnits")
    uid = result["data"]["response"]["uid"]
    assert server.metadata["organisationUnits"][uid]["name"] == "Ngelehun"
    assert result["response"]["status"] == 201

    with pytest.raises(JobError, match=r"One or more errors; Missing required property `name`\."):
        dhis2.create("organisationUnits", {"shortName": "X"})(state)


def test_data_value_sets_post_to_their_endpoint(server, state):
    values = {"dataSet": "pBOMPrpg1QX", "dataValues": [{"dataElement": "f7n9E0hX8qk", "value": 5}]}
    result = dhis2.create("dataValueSets", values, {"dryRun": True})(state)
    assert (server.last.path, server.last.param("dryRun")) == ("/api/dataValueSets", "true")
    assert server.last.json() == values
    assert result["data"]["response"]["importCount"]["imported"] == 1


def test_personal_access_token_and_api_version(server):
    config = {"base_url": server.origin + "/", "access_token": FakeDhis2.PAT, "api_version": "40"}
    result = dhis2.get("organisationUnits", {"fields": "id,name"})({"configuration": config})
    assert server.last.path == "/api/40/organisationUnits.json"
    assert server.last.headers["authorization"] == f"ApiToken {FakeDhis2.PAT}"
    assert server.last.param("fields") == "id,name"
    assert result["data"]["organisationUnits"] == []


def test_wrong_credentials_raise_unauthorized(server):
    config = {"base_url": server.origin, "username": "admin", "password": "wrong"}
    with pytest.raises(JobError, match="returned 401 Unauthorized: Unauthorized"):
        dhis2.get("organisationUnits")({"configuration": config})


def test_update_get_and_delete_metadata(server, state):
    server.metadata["organisationUnits"]["abc123def45"] = {"id": "abc123def45", "name": "Old"}
    dhis2.update("organisationUnits", "abc123def45", {"name": "New", "shortName": "N"})(state)
    assert (server.last.method, server.last.path) == ("PUT", "/api/organisationUnits/abc123def45")
    fetched = dhis2.get("organisationUnits/abc123def45")(state)
    assert fetched["data"]["name"] == "New"

    dhis2.delete("organisationUnits", "abc123def45")(state)
    assert server.last.method == "DELETE"
    assert server.metadata["organisationUnits"] == {}
    with pytest.raises(JobError, match="Object not found for uid: abc123def45"):
        dhis2.delete("organisationUnits", "abc123def45")(state)


def test_tracker_update_and_delete_use_import_strategies(server, state):
    dhis2.update("events", "ev000000001", {"orgUnit": "DiszpKrYNg8", "status": "COMPLETED"})(state)
    assert server.last.param("importStrategy") == "UPDATE"
    body = {"orgUnit": "DiszpKrYNg8", "status": "COMPLETED", "event": "ev000000001"}
    assert server.last.json() == {"events": [body]}

    dhis2.delete("events", "ev000000001")(state)
    assert server.last.param("importStrategy") == "DELETE"
    assert server.last.json() == {"events": [{"event": "ev000000001"}]}
    assert server.tracker["events"] == {}


def test_get_tracker_resources_reads_the_tracker_endpoint(server, state):
    server.tracker["trackedEntities"]["te000000001"] = {"trackedEntity": "te000000001"}
    result = dhis2.get("trackedEntities", {"orgUnit": "DiszpKrYNg8"})(state)
    assert server.last.path == "/api/tracker/trackedEntities"
    assert result["data"]["instances"] == [{"trackedEntity": "te000000001"}]


def test_upsert_creates_then_updates_and_refuses_ambiguity(server, state):
    org_unit = {"name": S.data.name, "shortName": "A", "code": "OU_1"}
    lines: list[LogLine] = []
    with capture(lines.append):
        dhis2.upsert("organisationUnits", {"filter": "code:eq:OU_1"}, org_unit)(state)
    lookup, write = server.requests[-2:]
    assert (lookup.path, lookup.param("filter"), lookup.param("fields")) == (
        "/api/organisationUnits.json",
        "code:eq:OU_1",
        "id",
    )
    assert (write.method, write.path) == ("POST", "/api/organisationUnits")
    assert any("creating" in line.message for line in lines)
    (uid,) = server.metadata["organisationUnits"]

    updated = {**state, "data": {"name": "Ana Updated"}}
    dhis2.upsert("organisationUnits", {"filter": "code:eq:OU_1"}, org_unit)(updated)
    assert (server.last.method, server.last.path) == ("PUT", f"/api/organisationUnits/{uid}")
    assert server.metadata["organisationUnits"][uid]["name"] == "Ana Updated"

    server.metadata["organisationUnits"]["other000001"] = {"id": "other000001", "code": "OU_1"}
    with pytest.raises(JobError, match="upsert matched 2 organisationUnits"):
        dhis2.upsert("organisationUnits", {"filter": "code:eq:OU_1"}, org_unit)(state)


def test_upsert_tracked_entity_updates_the_single_match(server, state):
    server.tracker["trackedEntities"]["te000000009"] = {"trackedEntity": "te000000009", "x": "1"}
    entity = {"orgUnit": "DiszpKrYNg8", "x": "1"}
    dhis2.upsert("trackedEntities", {"filter": "x:eq:1"}, entity)(state)
    assert server.requests[-2].path == "/api/tracker/trackedEntities"
    assert server.last.param("importStrategy") == "UPDATE"
    assert server.last.json()["trackedEntities"][0]["trackedEntity"] == "te000000009"


def test_base_url_and_resource_name_are_required(server):
    with pytest.raises(JobError, match="needs a base_url"):
        dhis2.get("organisationUnits")({"configuration": {"username": "a", "password": "b"}})
    with pytest.raises(JobError, match="a DHIS2 resource name"):
        dhis2.get("")({"configuration": {"base_url": server.origin}})


def test_job_code_creates_one_tracked_entity_per_item(server, state):
    source = (
        'each(S.data, create("trackedEntities", '
        '{"orgUnit": "DiszpKrYNg8", "trackedEntityType": "nEenWmSyUEp", "name": S.data.name}))'
    )
    current = {**state, "data": [{"name": "Ana"}, {"name": "Bo"}]}
    for step in compile_job(source, operations("dhis2")).build():
        current = step.operation(current)
    names = [r.json()["trackedEntities"][0]["name"] for r in server.requests]
    assert names == ["Ana", "Bo"]
    assert len(server.tracker["trackedEntities"]) == 2
