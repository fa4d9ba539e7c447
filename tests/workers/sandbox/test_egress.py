"""The egress policy: which addresses a step may connect to, judged on the resolved IP."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable

import httpx
import pytest

from tests.workers.sandbox.forked_child import in_child
from workers.runtime import egress, guard
from workers.runtime.egress import check_address
from workers.runtime.protocol import StepRequest
from workers.runtime.sandbox import Sandbox


def run_guarded(function: Callable[..., object], *args: object, allow: list[str] | None = None
                ) -> str:  # fmt: skip
    """Call `function(*args)` in a forked child hardened like a step child; its result or
    its error as text. (This test file is not trusted code, so it plays the job's part.)"""

    def hardened() -> object:
        guard.harden(cpu_seconds=20, memory_mb=512, egress_allow=allow or [])
        return function(*args)

    return in_child(hardened)


BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.255.3.4", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.10", "private"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 (an address to refuse, not one to bind)
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"),
    # The same places written as IPv6.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:7f00:1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:192.168.0.1", "private"),
    ("64:ff9b::a9fe:a9fe", "link-local"),
    ("2002:7f00:1::", "loopback"),
    ("::127.0.0.1", "loopback"),
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "172.32.0.1",
    "100.128.0.1",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize(("ip", "kind"), BLOCKED)
def test_internal_addresses_are_refused_by_default(ip, kind):
    reason = check_address(ip, [])
    assert reason is not None and kind in reason


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_are_allowed(ip):
    assert check_address(ip, []) is None


def test_allowlist_by_cidr_opens_only_that_range():
    allow = ["10.2.0.0/16"]
    assert check_address("10.2.9.9", allow) is None
    assert check_address("::ffff:10.2.9.9", allow) is None
    assert check_address("10.3.0.1", allow) is not None


def test_allowlist_by_single_ip():
    assert check_address("127.0.0.1", ["127.0.0.1"]) is None
    assert check_address("127.0.0.2", ["127.0.0.1"]) is not None
    assert check_address("169.254.169.254", ["127.0.0.1"]) is not None


def test_allowlist_by_hostname_needs_the_resolved_host():
    allow = ["DHIS2.lan."]
    assert check_address("10.0.0.5", allow, host="dhis2.lan") is None
    assert check_address("10.0.0.5", allow, host="other.lan") is not None
    assert check_address("10.0.0.5", allow) is not None


def test_allowlist_entry_with_a_port_opens_that_port_only():
    assert check_address("127.0.0.1", ["127.0.0.1:8080"], port=8080) is None
    assert check_address("127.0.0.1", ["127.0.0.1:8080"], port=8081) is not None
    assert check_address("127.0.0.1", ["127.0.0.1:8080"]) is not None  # port unknown
    assert check_address("fd00::5", ["[fd00::5]:443"], port=443) is None
    assert check_address("fd00::5", ["[fd00::5]:443"], port=80) is not None
    assert check_address("10.0.0.5", ["DHIS2.lan.:8080"], host="dhis2.lan", port=8080) is None
    assert check_address("10.0.0.5", ["dhis2.lan:8080"], host="dhis2.lan", port=80) is not None
    # Without a port an entry opens every port, as before.
    assert check_address("10.0.0.5", ["dhis2.lan"], host="dhis2.lan", port=80) is None


def test_allowlist_entries_are_split_into_networks_and_hosts_with_ports():
    rules = egress.parse_allowlist(
        ("10.0.0.0/24", "127.0.0.1:8080", "[::1]:9000", "Dhis2.LAN:8443", "fd00::1", "db.lan", " ")
    )
    networks = [(r.network, r.port) for r in rules if r.network is not None]
    hosts = {(r.host, r.port) for r in rules if r.network is None}
    assert [(str(n), p) for n, p in networks] == [
        ("10.0.0.0/24", None),
        ("127.0.0.1/32", 8080),
        ("::1/128", 9000),
        ("fd00::1/128", None),
    ]
    assert hosts == {("dhis2.lan", 8443), ("db.lan", None)}


def test_an_ipv6_form_of_an_ipv4_entry_opens_the_same_machine():
    # The settings page refuses such entries, but a `ferry` command line may pass one.
    assert check_address("10.0.0.5", ["::ffff:10.0.0.5"]) is None
    assert check_address("10.0.0.5", ["[::ffff:10.0.0.5]:80"], port=80) is None
    assert check_address("10.0.0.5", ["[::ffff:10.0.0.5]:80"], port=81) is not None
    assert check_address("10.0.0.6", ["::ffff:10.0.0.5"]) is not None


def test_entries_the_runtime_cannot_read_as_meant_open_nothing():
    assert check_address("10.0.0.5", ["10.0.0.5:http", "[10.0.0.5]", "10.0.0.5/8080"]) is not None
    assert check_address("10.0.0.5", ["dhis2.lan:http"], host="dhis2.lan", port=80) is not None
    # A public address needs no entry, so the allowlist is not even read.
    assert check_address("8.8.8.8", ["2002:a00:5::/96"]) is None


def test_the_shared_egress_rules_are_trusted_code_in_the_sandbox():
    """The runtime reads entries with `app.egress_rules`; its frames are Ferry's, not the job's."""
    import app.egress_rules
    from workers.runtime import trust

    assert egress.egress_rules is app.egress_rules
    assert trust.is_trusted_code(app.egress_rules.__file__)


def test_garbage_is_not_an_address():
    assert "not an IP address" in check_address("localhost", [])


def test_the_audit_hook_refuses_loopback_and_metadata_before_connecting():
    def connect(url: str) -> str:
        return httpx.get(url, timeout=2).text

    loopback = run_guarded(connect, "http://127.0.0.1:5432/")
    assert "Ferry sandbox: connecting to 127.0.0.1:5432 is not allowed (loopback" in loopback
    metadata = run_guarded(connect, "http://169.254.169.254/latest/meta-data/")
    assert "connecting to 169.254.169.254:80 is not allowed (link-local" in metadata
    by_name = run_guarded(connect, "http://localhost:5432/")
    assert "is not allowed (loopback" in by_name
    mapped = run_guarded(connect, "http://[::ffff:127.0.0.1]:5432/")
    assert "is not allowed (loopback" in mapped


@pytest.fixture
def local_server():
    """A real HTTP server on 127.0.0.1 that answers every GET with a small JSON body."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"reached": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_hook_allows_loopback_only_when_allowlisted(local_server):
    def fetch(url: str) -> str:
        return httpx.get(url, timeout=2).text

    assert "Ferry sandbox" in run_guarded(fetch, local_server + "/x")
    assert run_guarded(fetch, local_server + "/x", allow=["127.0.0.1"]) == '{"reached": true}'
    assert run_guarded(fetch, local_server + "/x", allow=["127.0.0.0/8"]) == '{"reached": true}'
    assert run_guarded(fetch, local_server.replace("127.0.0.1", "localhost") + "/x",
                       allow=["localhost"]) == '{"reached": true}'  # fmt: skip


def test_hook_honours_the_port_of_an_allowlist_entry(local_server):
    def fetch(url: str) -> str:
        return httpx.get(url, timeout=2).text

    port = int(local_server.rsplit(":", 1)[1])
    same = run_guarded(fetch, local_server + "/x", allow=[f"127.0.0.1:{port}"])
    assert same == '{"reached": true}'
    other = run_guarded(fetch, local_server + "/x", allow=[f"127.0.0.1:{port + 1}"])
    assert f"connecting to 127.0.0.1:{port} is not allowed (loopback" in other
    by_name = run_guarded(fetch, local_server.replace("127.0.0.1", "localhost") + "/x",
                          allow=[f"localhost:{port}"])  # fmt: skip
    assert by_name == '{"reached": true}'


def test_a_step_reaches_only_the_allowlisted_port_of_a_local_server(local_server):
    port = int(local_server.rsplit(":", 1)[1])
    body = f'get("{local_server}/patients")\n'

    def step(allow: list[str]) -> StepRequest:
        return StepRequest(body=body, adaptor="http", state={}, timeout_s=10, egress_allow=allow)

    with Sandbox() as sandbox:
        allowed = sandbox.run(step([f"127.0.0.1:{port}"]))
        other_port = sandbox.run(step([f"127.0.0.1:{port + 1}"]))
    assert allowed.status == "success", allowed.error
    assert allowed.state["data"] == {"reached": True}
    assert other_port.status == "failed"
    assert f"connecting to 127.0.0.1:{port} is not allowed" in other_port.error["message"]


def test_a_step_reaches_a_local_server_only_when_allowlisted(local_server):
    body = f'get("{local_server}/patients")\n'
    with Sandbox() as sandbox:
        refused = sandbox.run(StepRequest(body=body, adaptor="http", state={}, timeout_s=10))
        allowed = sandbox.run(StepRequest(body=body, adaptor="http", state={}, timeout_s=10,
                                          egress_allow=["127.0.0.1"]))  # fmt: skip
    assert refused.status == "failed"
    assert "connecting to 127.0.0.1" in refused.error["message"]
    assert "egress allowlist" in refused.error["message"]
    assert allowed.status == "success", allowed.error
    assert allowed.state["data"] == {"reached": True}


def test_clients_that_open_sockets_in_c_can_ask_before_connecting():
    # libpq (the postgresql adaptor) connects out of the audit hook's sight.
    refused = run_guarded(egress.resolve_checked, "localhost", 5432)
    assert "connecting to" in refused and "(loopback address)" in refused
    allowed = run_guarded(egress.resolve_checked, "localhost", 5432, allow=["localhost"])
    assert "127.0.0.1" in allowed
    only_port = run_guarded(egress.resolve_checked, "localhost", 5432, allow=["localhost:5432"])
    assert "127.0.0.1" in only_port
    other_port = run_guarded(egress.resolve_checked, "localhost", 5432, allow=["localhost:6543"])
    assert "(loopback address)" in other_port
