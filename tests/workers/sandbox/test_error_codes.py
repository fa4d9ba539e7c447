"""The main run errors produced for real (the fork-server sandbox, its audit hook, real sockets)
carry the code and details their plain sentence is built from, and the same technical message.
"""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from app.services.runs.plain_errors import explain
from workers.runtime.protocol import StepRequest
from workers.runtime.sandboxes import AdaptorSandboxes


@pytest.fixture(scope="module")
def sandboxes():
    """The worker's sandboxes, shared by this module's steps."""
    with AdaptorSandboxes() as running:
        yield running


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def failing_api():
    """A loopback stand-in for an API that answers every POST with 500."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"error": "database is down"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run(sandboxes, body, adaptor="common", state=None, **limits):
    request = StepRequest(body=body, adaptor=adaptor, state=state or {}, **limits)
    return sandboxes.run(request)


def test_connection_refused_inside_each_names_host_port_and_record(sandboxes):
    port = closed_port()
    result = run(
        sandboxes,
        'each(S.data.records, post(f"http://127.0.0.1:' + str(port) + '/patients", S.data))',
        adaptor="http",
        state={"data": {"records": [{"id": 1}, {"id": 2}]}},
        egress_allow=["127.0.0.1"],
    )
    assert result.status == "failed"
    error = result.error
    assert error["code"] == "connection_refused"
    assert error["details"]["host"] == "127.0.0.1" and error["details"]["port"] == port
    assert error["details"]["record"] == 1 and error["details"]["operation"] == "each"
    assert "Connection refused" in error["message"] and error["type"] == "JobError"
    plain = explain(error, "Send to registry")
    assert plain.sentence == (
        f"Step “Send to registry”, record 1: Could not reach 127.0.0.1:{port}: nothing answered."
    )
    assert "running" in plain.check
    assert plain.technical.startswith("JobError: Operation 'each' on line 1 failed: POST")


def test_a_missing_key_names_the_key_and_the_keys_there_are(sandboxes):
    result = run(
        sandboxes,
        "each(S.data.records, fn(lambda state: state))",
        state={"data": {"patients": [], "source": "clinic"}},
    )
    error = result.error
    assert result.status == "failed" and error["code"] == "missing_key"
    assert error["details"]["key"] == "records"
    assert error["details"]["available"] == ["patients", "source"]
    assert "no key 'records'" in error["message"]
    assert explain(error).sentence == "The input has no `records`. It has: `patients`, `source`."


def test_each_given_something_else_than_a_list_says_what_it_got(sandboxes):
    result = run(
        sandboxes, "each(S.data.name, fn(lambda state: state))", state={"data": {"name": "Ana"}}
    )
    error = result.error
    assert result.status == "failed" and error["code"] == "wrong_type"
    assert error["details"] == {
        "operation": "each",
        "expected": "a list or a JSONPath string",
        "got": "str",
    }
    assert explain(error).sentence == (
        "The each operation needs a list or a JSONPath string, but got text."
    )
    assert "needs a list or a JSONPath string" in explain(error).technical


def test_an_http_500_from_the_other_system_names_status_method_and_url(sandboxes, failing_api):
    url = f"http://127.0.0.1:{failing_api}/patients"
    result = run(
        sandboxes,
        f'post("{url}?token=abc", {{"id": 1}})',
        adaptor="http",
        egress_allow=["127.0.0.1"],
    )
    error = result.error
    assert result.status == "failed" and error["code"] == "http_error"
    details = error["details"]
    assert (details["status"], details["method"], details["url"]) == (500, "POST", url)
    assert "database is down" in details["answer"] and "token" not in details["url"]
    plain = explain(error, "Send")
    assert (
        plain.sentence
        == f"Step “Send”: 127.0.0.1 answered 500 Internal Server Error to POST {url}."
    )
    assert plain.check.startswith("The other system had a problem of its own")
    assert "returned 500 Internal Server Error" in plain.technical


def test_a_blocked_address_names_it_and_the_allowlist(sandboxes):
    port = closed_port()
    result = run(sandboxes, f'get("http://127.0.0.1:{port}/")', adaptor="http")
    error = result.error
    assert result.status == "failed" and error["code"] == "egress_blocked"
    assert error["details"]["address"] == f"127.0.0.1:{port}"
    assert "allowlist" in explain(error).check


def test_the_time_limit_names_the_seconds(sandboxes):
    result = run(sandboxes, "fn(lambda state: [0 for _ in iter(int, 1)])", timeout_s=1)
    error = result.error
    assert result.status == "killed" and error["code"] in {"time_limit", "cpu_limit"}
    assert error["details"]["seconds"] == 1
    assert (
        "took longer than 1 s" in explain(error).sentence
        or "computing time" in explain(error).sentence
    )
    assert explain(error).technical.startswith("LimitExceeded: the step")


def test_a_syntax_error_names_the_line(sandboxes):
    result = run(sandboxes, "fn(lambda state: state\n")
    error = result.error
    assert result.status == "crashed" and error["code"] == "syntax_error"
    assert explain(error).sentence.startswith("The job code has a mistake on line")


def test_returning_none_is_a_state_contract_error(sandboxes):
    result = run(sandboxes, "fn(lambda state: None)")
    assert result.error["code"] == "returned_none"
    assert "returned nothing" in explain(result.error).sentence
