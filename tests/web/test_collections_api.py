"""The collections API: tokens (a person's and a step's), roles, exact values, patterns and
paging, and bad input answered with a sentence (never a 500, nothing half stored)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, Run
from app.services import accounts
from app.services.collections import items, step_tokens, store
from tests import factories, history_factories


@pytest.fixture
def bag(project):
    """The project's collection "patients"."""
    store.create_collection(project.id, "patients")
    return f"/projects/{project.id}/collections/patients"


def _as(client, token):
    def call(method, url, **kwargs):
        headers = {"Authorization": f"Bearer {token}"}
        return getattr(client, method)(f"/api/v1{url}", headers=headers, **kwargs)

    return call


@pytest.fixture
def viewer(client, project):
    person = factories.user()
    factories.member(project, person, Role.VIEWER)
    return _as(client, accounts.create_api_token(person.email))


def test_a_value_goes_in_and_comes_out_exactly(api, bag):
    text = '{"name":"Zoë 中","n":12345678901234567890,"f":1.5,"z":null,"l":[true,{"a":"\\u0000"}]}'
    put = api.put(f"{bag}/p%2F1", data=text, content_type="application/json")
    assert put.status_code == 200, put.get_json()
    got = api.get(f"{bag}/p%2F1")
    assert got.get_json()["key"] == "p/1"
    assert got.get_json()["value"] == json.loads(text)
    assert json.dumps(got.get_json()["value"], ensure_ascii=False, separators=(",", ":")) == text


def test_viewers_read_and_editors_write(viewer, api, bag):
    api.put(f"{bag}/a", json={"v": 1})
    assert viewer("get", f"{bag}/a").get_json()["value"] == {"v": 1}
    refused = viewer("put", f"{bag}/a", json={"v": 2})
    assert refused.status_code == 403
    assert "needs the editor role" in refused.get_json()["error"]
    assert viewer("delete", f"{bag}/a").status_code == 403
    assert api.get(f"{bag}/a").get_json()["value"] == {"v": 1}


def test_without_a_token_the_api_says_how_to_get_one(client, bag):
    response = client.get(f"/api/v1{bag}")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.get_json()["error"]


def test_a_pattern_lists_in_key_order_a_page_at_a_time(api, bag):
    batch = {"items": [{"key": f"p-{i:03}", "value": i} for i in range(25)]}
    assert api.post(bag, json=batch).get_json() == {"written": 25}
    first = api.get(bag, query_string={"key": "p-0*", "limit": 7}).get_json()
    assert [i["key"] for i in first["items"]] == [f"p-{i:03}" for i in range(7)]
    second = api.get(
        bag, query_string={"key": "p-0*", "limit": 7, "cursor": first["next_cursor"]}
    ).get_json()
    assert second["items"][0]["key"] == "p-007"
    assert api.delete(bag, query_string={"key": "p-01*"}).get_json() == {"removed": 10}
    assert len(api.get(bag, query_string={"key": "*"}).get_json()["items"]) == 15


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ({"cursor": "bm9wZQ"}, 400, "not one Ferry gave out"),
        ({"limit": "5000"}, 422, "between 1 and 1000"),
        ({"limit": "ten"}, 400, "whole number"),
        ({"key": "a\x00*"}, 400, "key"),
    ],
)
def test_bad_listing_parameters_answer_with_a_sentence(api, bag, query, status, says):
    response = api.get(bag, query_string=query)
    assert response.status_code == status
    assert says in response.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "Send the value as JSON"),
        (b"NaN", 400, "NaN"),
        (b"\xff\xfe", 400, "not UTF-8"),
        (b"[" * 100 + b"]" * 100, 422, "nested too deeply"),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_stored(api, bag, body, status, says):
    response = api.put(f"{bag}/k", data=body, content_type="application/json")
    assert response.status_code == status
    assert says in response.get_json()["error"]
    assert api.get(f"{bag}/k").status_code == 404


def test_a_value_above_a_megabyte_is_413(api, bag):
    response = api.put(f"{bag}/big", json="x" * (1024 * 1024))
    assert response.status_code == 413
    assert "above the 1,048,576 bytes (1 MB)" in response.get_json()["error"]


def test_a_batch_above_1000_items_is_413_and_stores_nothing(api, bag):
    batch = {"items": [{"key": f"k{i}", "value": i} for i in range(1001)]}
    response = api.post(bag, json=batch)
    assert response.status_code == 413
    assert "at most 1000 items" in response.get_json()["error"]
    assert api.get(bag).get_json()["items"] == []
    assert api.post(bag, json=[1]).status_code == 400


def test_a_key_with_a_star_is_a_pattern_not_a_key(api, bag):
    response = api.get(f"{bag}/p-*")
    assert response.status_code == 400
    assert "?key=" in response.get_json()["error"]
    assert api.put(f"{bag}/a*b", json=1).status_code == 400


def test_a_missing_collection_says_how_to_create_it(api, project):
    response = api.get(f"/projects/{project.id}/collections/nope/k")
    assert response.status_code == 404
    assert "create it on the project's Collections page" in response.get_json()["error"]
    assert api.put(f"/projects/{project.id}/collections/new-one").status_code == 201
    assert api.put(f"/projects/{project.id}/collections/new-one").status_code == 200
    listed = api.get(f"/projects/{project.id}/collections").get_json()["collections"]
    assert [c["name"] for c in listed] == ["new-one"]


def test_deleting_the_collection_takes_its_entries(api, bag, project):
    api.put(f"{bag}/a", json=1)
    assert api.delete(bag).get_json() == {"deleted": "patients", "removed": 1}
    assert store.list_collections(project.id) == []


def test_a_step_token_reaches_its_own_project_while_its_run_is_live(client, project, flow, bag):
    running = history_factories.work_order(flow, state="running")
    run = db.session.scalar(select(Run).where(Run.work_order_id == running.id))
    step = _as(client, step_tokens.issue(run.id, project.id))
    assert step("put", f"{bag}/seen", json=[1]).status_code == 200
    assert items.get_item(project.id, "patients", "seen").value == [1]
    other = factories.project(factories.user())
    assert step("get", f"/projects/{other.id}/collections").status_code == 404
    forged = _as(client, step_tokens.issue(run.id, project.id)[:-2] + "xx")
    assert forged("get", bag).status_code == 401
    run.state = "success"
    db.session.commit()
    ended = step("get", bag)
    assert ended.status_code == 401
    assert "run has ended" in ended.get_json()["error"]


def test_the_openapi_document_describes_the_collections_api(client, db):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    entry = paths["/projects/{project_id}/collections/{collection_name}/{entry_key}"]
    assert set(entry) == {"get", "put", "delete"}
    assert "413" in entry["put"]["responses"]


def test_a_step_token_older_than_the_longest_run_is_refused(
    client, project, flow, bag, monkeypatch
):
    import time

    from itsdangerous.timed import TimestampSigner

    running = history_factories.work_order(flow, state="running")
    run = db.session.scalar(select(Run).where(Run.work_order_id == running.id))
    token = step_tokens.issue(run.id, project.id)
    step = _as(client, token)
    assert step("get", bag).status_code == 200
    later = int(time.time()) + 3600 + step_tokens.MARGIN_S + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    assert step("get", bag).status_code == 401


def test_a_bad_collection_name_is_422_naming_the_field(api, project):
    response = api.put(f"/projects/{project.id}/collections/has%20space")
    assert response.status_code == 422
    assert response.get_json()["field"] == "name"
    assert "only letters, digits" in response.get_json()["error"]
