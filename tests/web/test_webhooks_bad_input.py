"""POST /i/<trigger> with input Ferry cannot keep: a 4xx that says what to fix, nothing stored.

A sender retries a 503 (it carries Retry-After); these are permanent errors, so each must be
a 4xx, never a 503 or a 500.
"""

from __future__ import annotations

import dataclasses
import http.client
import io
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.models import Dataclip, Run, WorkOrder
from tests import factories


@pytest.fixture
def trigger(user, db):
    """The webhook trigger of a saved workflow."""
    return factories.workflow(factories.project(user)).triggers[0]


def stored(db) -> tuple[int, int, int]:
    """How many work orders, dataclips and runs exist (a refused request adds none)."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (WorkOrder, Dataclip, Run)
    )


DEEP = b"[" * 100_000 + b"]" * 100_000
# Readable by Python, but deeper than Ferry keeps (recursive code downstream would crash).
READABLY_DEEP = b'{"a":' * 500 + b"1" + b"}" * 500

BAD_BODIES = [
    pytest.param(
        "application/json", b'{"a":"x\\u0000y"}', ["body", "NUL character"], id="json-nul"
    ),
    pytest.param("application/json", b'{"a":NaN}', ["body", "NaN"], id="json-nan"),
    pytest.param("application/json", b'{"a":-Infinity}', ["body", "-Infinity"], id="json-inf"),
    pytest.param("application/json", b'{"a":1e999}', ["body", "too large"], id="json-1e999"),
    pytest.param("application/json", DEEP, ["body", "nested too deeply"], id="json-deep"),
    pytest.param(
        "application/json", READABLY_DEEP, ["body", "at most 64 levels"], id="json-500-deep"
    ),
    pytest.param("text/plain", b"x\x00y", ["body", "NUL"], id="text-nul"),
    pytest.param("application/xml", b"<a>\x00</a>", ["body", "NUL"], id="xml-nul"),
    pytest.param(
        "application/json", b'{"a":"\\ud800"}', ["body", "surrogate"], id="json-surrogate"
    ),
]


@pytest.mark.parametrize(("content_type", "body", "says"), BAD_BODIES)
def test_a_body_ferry_cannot_store_is_400_naming_the_problem(
    client, trigger, db, content_type, body, says
):
    before = stored(db)
    response = client.post(f"/i/{trigger.id}", data=body, content_type=content_type)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "Retry-After" not in response.headers
    error = response.get_json()["error"]
    for words in says:
        assert words in error
    assert stored(db) == before


def test_a_long_content_type_is_400_naming_the_header(client, trigger, db):
    before = stored(db)
    response = client.post(
        f"/i/{trigger.id}", data="hello", content_type="text/" + "x" * 200 + "; charset=utf-8"
    )
    assert response.status_code == 400
    assert "Content-Type" in response.get_json()["error"]
    assert "200 characters" in response.get_json()["error"]
    assert stored(db) == before


def test_a_long_idempotency_key_is_400_naming_the_header(client, trigger, db):
    before = stored(db)
    response = client.post(f"/i/{trigger.id}", json={}, headers={"Idempotency-Key": "k" * 300})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]
    assert "200 characters" in response.get_json()["error"]
    assert stored(db) == before
    # The longest key that fits is accepted.
    assert (
        client.post(f"/i/{trigger.id}", json={}, headers={"Idempotency-Key": "k" * 200}).status_code
        == 200
    )


def test_a_nul_in_the_query_string_is_400_naming_it(client, trigger, db):
    before = stored(db)
    response = client.post(f"/i/{trigger.id}?source=a%00b", json={"n": 1})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "query" in error and "NUL" in error
    assert stored(db) == before


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("path", ["/i/%00", "/i/a%00b", "/i/" + "p" * 300])
def test_an_address_no_trigger_can_have_is_404(client, db, method, path):
    before = stored(db)
    response = getattr(client, method)(path, json={})
    assert response.status_code == 404
    assert response.get_json()["error"] == "No webhook trigger exists at this address."
    assert stored(db) == before


# Chunked bodies carry no Content-Length: only reading them shows they are too long.


@pytest.fixture
def one_mb_limit(app, monkeypatch):
    """FERRY_MAX_DATACLIP_MB=1 (as create_app sets it), so that over-limit bodies stay small."""
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], max_dataclip_mb=1)
    for key in ("FERRY_SETTINGS", "MAX_CONTENT_LENGTH"):
        monkeypatch.setitem(app.config, key, settings.flask_config()[key])
    return 1024 * 1024


def chunked_post(client, url: str, body: bytes, content_type: str):
    """POST `body` as a server that terminates chunked input (gunicorn) hands it over: no
    Content-Length, `wsgi.input_terminated` set."""
    return client.post(
        url,
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_stored(
    client, trigger, db, one_mb_limit, content_type
):
    before = stored(db)
    body = b'"' + b"x" * one_mb_limit + b'"'
    response = chunked_post(client, f"/i/{trigger.id}", body, content_type)
    assert response.status_code == 413
    assert "1 MB limit" in response.get_json()["error"]
    assert stored(db) == before


def test_a_chunked_body_at_the_limit_is_accepted_whole(client, trigger, db, one_mb_limit):
    body = b"y" * one_mb_limit
    response = chunked_post(client, f"/i/{trigger.id}", body, "text/plain")
    assert response.status_code == 200
    work_order = db.session.get(WorkOrder, response.get_json()["work_order_id"])
    assert len(db.session.get(Dataclip, work_order.dataclip_id).raw_body) == one_mb_limit


@pytest.fixture
def live_url(app, db):
    """The app served over real HTTP (werkzeug's server, which de-chunks request bodies)
    in a thread; its requests share the test's transaction, one at a time."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_chunked_body_over_the_limit_sent_over_http_is_413(
    live_url, trigger, db, one_mb_limit, content_type
):
    before = stored(db)
    chunk = b"z" * 65536
    chunks = [b'"'] + [chunk] * (one_mb_limit // len(chunk)) + [b'"']
    connection = http.client.HTTPConnection(live_url, timeout=30)
    try:
        connection.request(
            "POST",
            f"/i/{trigger.id}",
            body=iter(chunks),
            headers={"Content-Type": content_type},
            encode_chunked=True,
        )
        response = connection.getresponse()
        status, text = response.status, response.read().decode()
    finally:
        connection.close()
    assert status == 413
    assert "1 MB limit" in text
    assert stored(db) == before
