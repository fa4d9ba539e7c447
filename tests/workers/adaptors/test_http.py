"""The http adaptor against a real local HTTP server."""

from __future__ import annotations

import base64

import pytest

from tests.workers.adaptors.servers import EchoServer
from workers.adaptors import http, operations
from workers.runtime.compiler import compile_job
from workers.runtime.errors import JobError
from workers.runtime.logs import LogLine, capture


@pytest.fixture
def server():
    """The stand-in API."""
    with EchoServer() as running:
        yield running


@pytest.fixture
def other():
    """A second server: another origin."""
    with EchoServer() as running:
        yield running


def creds(server: EchoServer, **extra) -> dict:
    """A state whose credential points at `server`."""
    return {"configuration": {"base_url": f"{server.origin}/api", **extra}, "data": {}}


def test_get_joins_base_url_sends_query_and_writes_data_and_response(server):
    state = creds(server)
    result = http.get("/echo/patients", query={"since": "2024-01-01", "tag": ["a", "b"]})(state)

    assert server.last.path == "/api/echo/patients"
    assert server.last.query == {"since": ["2024-01-01"], "tag": ["a", "b"]}
    assert result["data"]["method"] == "GET"
    response = result["response"]
    assert response["status"] == 200
    assert response["method"] == "GET"
    assert response["url"].startswith(f"{server.origin}/api/echo/patients?since=2024-01-01")
    assert response["headers"]["content-type"].startswith("application/json")
    assert isinstance(response["duration_ms"], int)
    assert "data" not in state or state["data"] == {}  # the input state is left alone


def test_query_merges_with_a_query_already_in_the_path(server):
    http.get("/echo?a=1", query={"b": 2, "c": None, "d": True})(creds(server))
    assert server.last.query == {"a": ["1"], "b": ["2"], "d": ["true"]}
    with pytest.raises(JobError, match="query value 'x' must be text"):
        http.get("/echo", query={"x": {"nested": 1}})(creds(server))


def test_arguments_are_resolved_against_the_state_when_the_operation_runs(server):
    calls = []

    def path(state):
        calls.append(state["data"]["id"])
        return f"/echo/{state['data']['id']}"

    operation = http.post(path, {"name": lambda s: s["data"]["name"], "fixed": 1})
    assert calls == []  # nothing is resolved when the factory is called

    result = operation({**creds(server), "data": {"id": 7, "name": "Ana"}})

    assert calls == [7]
    assert server.last.path == "/api/echo/7"
    assert server.last.json() == {"name": "Ana", "fixed": 1}
    assert server.last.headers["content-type"] == "application/json"
    assert result["data"]["body"] == '{"name": "Ana", "fixed": 1}'


def test_bodies_json_raw_text_and_form(server):
    state = creds(server)
    http.put("/echo", [1, 2])(state)
    assert server.last.method == "PUT" and server.last.json() == [1, 2]

    http.patch("/echo", "a=1;b=2", headers={"Content-Type": "text/csv"})(state)
    assert server.last.body == b"a=1;b=2"
    assert server.last.headers["content-type"] == "text/csv"

    http.post("/echo", "raw words")(state)
    assert server.last.headers["content-type"].startswith("text/plain")

    http.post("/echo", form={"name": "Ana & Bo", "age": 3})(state)
    assert server.last.body == b"name=Ana+%26+Bo&age=3"
    assert server.last.headers["content-type"] == "application/x-www-form-urlencoded"

    with pytest.raises(JobError, match="only one of body"):
        http.post("/echo", {"a": 1}, form={"b": 2})(state)


def test_request_with_any_method_and_delete(server):
    state = creds(server)
    http.request("OPTIONS", "/echo")(state)
    assert server.last.method == "OPTIONS"
    http.delete("/echo/3")(state)
    assert (server.last.method, server.last.path) == ("DELETE", "/api/echo/3")
    with pytest.raises(JobError, match="HTTP method"):
        http.request("GE T", "/echo")(state)


def test_basic_bearer_and_api_key_authentication(server):
    http.get("/echo")(creds(server, username="ana", password="s3cret"))
    expected = "Basic " + base64.b64encode(b"ana:s3cret").decode()
    assert server.last.headers["authorization"] == expected

    http.get("/echo")(creds(server, username="ana", password="pw", access_token="tok"))
    assert server.last.headers["authorization"] == "Bearer tok"

    http.get("/echo")(creds(server, api_key="k1", api_key_header="apikey"))
    assert server.last.headers["apikey"] == "k1"
    assert "authorization" not in server.last.headers
    http.get("/echo")(creds(server, api_key="k2"))
    assert server.last.headers["x-api-key"] == "k2"


def test_credentials_never_go_to_another_origin(server, other):
    state = creds(server, access_token="tok")
    with pytest.raises(JobError) as failure:
        http.get(f"{other.origin}/api/echo")(state)
    assert failure.value.message == (
        f"refusing to send credentials to {other.origin}: "
        f"it is not the credential's base_url {server.origin}/api"
    )
    assert other.requests == []

    # An absolute URL on the credential's own origin is fine.
    http.get(f"{server.origin}/api/echo/abs")(state)
    assert server.last.path == "/api/echo/abs"


def test_without_base_url_absolute_urls_are_required(server):
    result = http.get(f"{server.origin}/api/echo")({"data": None})
    assert result["response"]["status"] == 200
    with pytest.raises(JobError, match="relative path"):
        http.get("/api/echo")({"data": None})
    with pytest.raises(JobError, match="only http and https"):
        http.get("file:///etc/passwd")({})


def test_error_statuses_raise_with_status_method_url_and_excerpt(server):
    state = creds(server)
    with pytest.raises(JobError) as failure:
        http.get("/../status/404", query={"token": "hidden"})(state)
    message = failure.value.message
    assert message.startswith(f"GET {server.origin}/status/404 returned 404 Not Found: ")
    assert '"error": "status 404"' in message
    assert message.endswith("...") and len(message) < 400
    assert "hidden" not in message


def test_errors_option_maps_statuses(server):
    state = {"configuration": {"base_url": server.origin}}
    result = http.get("/status/404", errors={404: False})(state)
    assert result["response"]["status"] == 404
    assert result["data"]["error"] == "status 404"

    with pytest.raises(JobError, match=r"^the upstream is down \(GET .*/status/503 returned 503"):
        http.get("/status/503", errors={"503": "the upstream is down"})(state)
    with pytest.raises(JobError, match="returned 500"):
        http.get("/status/500", errors={404: False})(state)

    assert http.get("/status/500", errors=False)(state)["response"]["status"] == 500


def test_parse_as(server):
    state = {"configuration": {"base_url": server.origin}}
    assert http.get("/text")(state)["data"] == "plain words"
    encoded = http.get("/bytes", parse_as="base64")(state)["data"]
    assert base64.b64decode(encoded) == bytes(range(256))
    assert http.get("/api/echo", parse_as="text")(state)["data"].startswith('{"method": "GET"')
    with pytest.raises(JobError, match="not valid JSON"):
        http.get("/not-json")(state)
    with pytest.raises(JobError, match="parse_as must be one of"):
        http.get("/text", parse_as="xml")(state)


def test_response_headers_are_lower_case_without_set_cookie(server):
    result = http.get("/cookie")({"configuration": {"base_url": server.origin}})
    headers = result["response"]["headers"]
    assert headers["x-trace"] == "t1"
    assert "set-cookie" not in headers
    assert all(name == name.lower() for name in headers)


def test_timeout(server):
    with pytest.raises(JobError, match="timeout must be a number"):
        http.get("/slow", timeout="soon")({"configuration": {"base_url": server.origin}})
    with pytest.raises(JobError, match=r"timed out after 0.2 s"):
        http.get("/slow", query={"s": 1}, timeout=0.2)(
            {"configuration": {"base_url": server.origin}}
        )


def test_same_origin_redirects_are_followed_with_method_and_body(server):
    state = creds(server, access_token="tok")
    result = http.post("/../redirect-relative", {"a": 1})(state)
    assert result["data"]["path"] == "/api/echo/after-redirect"
    assert result["data"]["method"] == "POST"
    assert server.last.json() == {"a": 1}
    assert server.last.headers["authorization"] == "Bearer tok"


def test_cross_origin_redirect_is_refused_with_credentials(server, other):
    server.redirect_to = f"{other.origin}/api/echo/stolen"
    with pytest.raises(JobError, match="refusing to follow a redirect to another origin"):
        http.get("/../redirect")(creds(server, access_token="tok"))
    assert other.requests == []


def test_cross_origin_redirect_without_credentials_drops_authorization(server, other):
    server.redirect_to = f"{other.origin}/api/echo/moved"
    url = f"{server.origin}/redirect"
    result = http.post(url, {"a": 1}, headers={"Authorization": "Bearer mine"})({})
    assert result["data"]["path"] == "/api/echo/moved"
    assert result["data"]["method"] == "GET"  # a 302 after POST becomes a GET
    assert "authorization" not in other.last.headers


def test_one_log_line_per_request_without_query(server):
    lines: list[LogLine] = []
    with capture(lines.append):
        http.get("/echo/x", query={"api_key": "abc"})(creds(server))
        with pytest.raises(JobError):
            http.get("/../status/500")(creds(server))
    assert [(line.level, line.source) for line in lines] == [
        ("info", "adaptor"),
        ("warn", "adaptor"),
    ]
    assert lines[0].message.startswith(f"GET {server.origin}/api/echo/x -> 200 in ")
    assert lines[0].message.endswith(" ms")
    assert "abc" not in lines[0].message
    assert lines[1].message.startswith(f"GET {server.origin}/status/500 -> 500 in ")


def run_job(source: str, state: dict) -> dict:
    """Compile job code for the http adaptor and run its operations in order."""
    for step in compile_job(source, operations("http")).build():
        state = step.operation(state)
    return state


def test_each_with_post_resolves_s_against_every_item(server):
    state = {**creds(server), "data": [{"name": "Ana"}, {"name": "Bo"}]}
    result = run_job('each(S.data, post("/echo/people", {"name": S.data.name}))', state)
    posted = [r.json() for r in server.requests]
    assert posted == [{"name": "Ana"}, {"name": "Bo"}]
    assert result["data"] == [{"name": "Ana"}, {"name": "Bo"}]  # each restores the outer data


def test_job_code_with_f_string_path_and_cursor_query(server):
    state = {**creds(server), "cursor": "2024-05-01", "data": {"id": 42}}
    source = 'get(f"/echo/patients/{S.data.id}", query={"since": S.cursor})'
    result = run_job(source, state)
    assert server.last.path == "/api/echo/patients/42"
    assert server.last.query == {"since": ["2024-05-01"]}
    assert result["response"]["status"] == 200
