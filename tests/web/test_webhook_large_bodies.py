"""A large JSON webhook body (over 64 KB) is checked without being kept as objects and
stored as the text it came in: the same data, and the same refusals, as a small one."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.models import Dataclip, WorkOrder
from tests import factories

RECORDS = [{"id": n, "name": f"Patient {n}", "weight": 61.5, "tags": [n, "x"]} for n in range(2000)]


@pytest.fixture
def hook_url(user, db):
    workflow = factories.workflow(factories.project(user))
    return f"/i/{workflow.triggers[0].id}"


def post(client, url, body: bytes, content_type="application/json"):
    return client.post(url, data=body, headers={"Content-Type": content_type})


def stored_body(db, response):
    order = db.session.get(WorkOrder, response.get_json()["work_order_id"])
    return db.session.get(Dataclip, order.dataclip_id).body


def test_a_large_body_is_stored_as_sent(client, db, hook_url):
    body = json.dumps(RECORDS).encode()
    assert len(body) > 64 * 1024
    response = post(client, hook_url, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored_body(db, response) == RECORDS


def test_a_large_utf16_body_takes_the_ordinary_path(client, db, hook_url):
    response = post(client, hook_url, json.dumps(RECORDS).encode("utf-16"))
    assert response.status_code == 200 and stored_body(db, response) == RECORDS


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (lambda text: text[:-1], "The body is not valid JSON"),
        (lambda text: text.replace("61.5", "1e999", 1), "a number too large to store"),
        (lambda text: text.replace("61.5", "NaN", 1), "The body holds NaN"),
        (lambda text: "[" * 70 + text + "]" * 70, "nested too deeply"),
        (lambda text: '{"a": ' * 70 + text + "}" * 70, "nested too deeply"),
        (lambda text: text.replace("Patient 7", "Patient \\u0000", 1), "The body holds"),
        (lambda text: text.replace("Patient 7", "Patient \\ud800", 1), "The body holds"),
    ],
)
def test_a_large_body_is_refused_for_what_a_small_one_is(client, db, hook_url, spoil, says):
    before = db.session.scalar(select(func.count()).select_from(WorkOrder))
    response = post(client, hook_url, spoil(json.dumps(RECORDS)).encode())
    assert response.status_code == 400, response.get_data(as_text=True)
    assert says in response.get_json()["error"]
    assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == before
