"""The allowlist as the settings page reads it: the forms accepted (and read by the same rules
the runtime enforces), the refusals naming the bad line, and the warnings about wide entries."""

from __future__ import annotations

import ast
import ipaddress
from pathlib import Path

import pytest

from app import egress_rules
from app.services.egress import allowlist
from app.services.egress import warnings as egress_warnings
from app.services.errors import Invalid
from workers.runtime import egress as runtime

ACCEPTED = [
    ("10.0.0.5", "10.0.0.5"),
    ("  10.0.0.0/24 ", "10.0.0.0/24"),
    ("DHIS2.Office.LAN.", "dhis2.office.lan"),
    ("10.0.0.5:8080", "10.0.0.5:8080"),
    ("dhis2.lan:08443", "dhis2.lan:8443"),
    ("[FD00::5]:443", "[fd00::5]:443"),
    ("[fd00::5]", "fd00::5"),
    ("fd00:0::5", "fd00::5"),
    ("10.0.0.0/24:5432", "10.0.0.0/24:5432"),
    ("[fd00::/64]:443", "[fd00::/64]:443"),
    ("127.0.0.1:5000", "127.0.0.1:5000"),
    ("localhost", "localhost"),
    ("::1", "::1"),
    ("10.0.0.0/8", "10.0.0.0/8"),
    ("sql_server.corp", "sql_server.corp"),
]

REFUSED = [
    ("0.0.0.0/0", "every address"),
    ("::/0", "every address"),
    ("0.0.0.0/1", "every address"),
    ("10.0.0.5/24", "did you mean 10.0.0.0/24"),
    ("10.0.0.0/33", "not a valid IP address or CIDR range"),
    ("10.0.0", "not a valid IP address"),
    ("1.2.3.4.5", "not a valid IP address"),
    ("http://10.0.0.5:8080/api", "without http://"),
    ("10.0.0.5/api/x", "without http://"),
    ("*.office.lan", "wildcards"),
    ("dhis2 lan", "spaces or control characters"),
    ("dhis2\tlan", "spaces or control characters"),
    ("dhis2.lan:0", "port must be a number from 1 to 65535"),
    ("dhis2.lan:65536", "port must be a number from 1 to 65535"),
    ("dhis2.lan:http", "port must be a number from 1 to 65535"),
    (":8080", "give a host"),
    ("[fd00::5", "written [fd00::5]:443"),
    ("::ffff:10.0.0.5", "write the IPv4 address"),
    ("::ffff:0:0/96", "write the IPv4 address"),
    ("2002::/16", "write the IPv4 address"),
    ("64:ff9b::a9fe:a9fe", "write the IPv4 address"),
    ("fe80::1%eth0", "zone ids"),
    ("-dhis2.lan", "not a valid hostname"),
    ("dhis2..lan", "not a valid hostname"),
    ("lan.123", "not a valid IP address or hostname"),
    ("x" * 300, "too long"),
    ("dhis2.lan\x00", "control characters"),
]


@pytest.mark.parametrize(("written", "stored"), ACCEPTED)
def test_accepted_entries_are_stored_tidied(written, stored):
    assert allowlist.parse_entry(written).text == stored


@pytest.mark.parametrize(("written", "stored"), ACCEPTED)
def test_the_runtime_reads_every_accepted_entry_as_the_settings_page_does(written, stored):
    entry = allowlist.parse_entry(written)
    assert runtime.parse_allowlist((entry.text,)) == (entry.rule,)
    assert entry.rule.ipv4 is None  # IPv6 forms of IPv4 addresses are refused


def test_a_network_entry_and_a_hostname_entry_read_as_such():
    assert allowlist.parse_entry("10.0.0.0/24:5432").rule == egress_rules.Rule(
        network=ipaddress.ip_network("10.0.0.0/24"), port=5432
    )
    assert allowlist.parse_entry("DHIS2.lan.").rule == egress_rules.Rule(host="dhis2.lan")


PROBES = [
    ("10.0.0.5", None, 8080),
    ("10.0.0.5", None, 80),
    ("10.0.0.200", None, 5432),
    ("127.0.0.1", None, 5000),
    ("127.0.0.1", "localhost", 5000),
    ("fd00::5", None, 443),
    ("fd00::5", None, 80),
    ("::ffff:10.0.0.5", None, 8080),
    ("10.0.0.5", "dhis2.lan", 8443),
    ("10.0.0.5", "dhis2.office.lan", 22),
    ("169.254.169.254", None, 80),
    ("::1", None, 22),
]


@pytest.mark.parametrize(("ip", "host", "port"), PROBES)
def test_settings_and_runtime_agree_on_what_each_entry_opens(ip, host, port):
    for written, _stored in ACCEPTED:
        entry = allowlist.parse_entry(written)
        runtime_opens = runtime.check_address(ip, [entry.text], host, port) is None
        assert entry.opens(ipaddress.ip_address(ip), host, port) == runtime_opens, (
            f"{entry.text} and {ip} ({host}) port {port}"
        )


def test_the_settings_page_and_the_runtime_use_the_one_module_of_egress_rules():
    assert allowlist.egress_rules is egress_warnings.egress_rules is egress_rules
    assert runtime.egress_rules is egress_rules
    assert allowlist.BLOCKED_RANGES is egress_rules.BLOCKED_RANGES


SHARED_NAMES = {
    "BLOCKED_RANGES", "effective_ip", "blocked_reason", "parse_ip", "normalise_host",
    "split_port", "read_entry", "refusal_reason", "NAT64", "_NAT64", "_EMBEDDING",
}  # fmt: skip


def test_no_module_keeps_its_own_copy_of_the_egress_rules():
    root = Path(__file__).resolve().parents[3]
    copies = []
    for path in [*(root / "app").rglob("*.py"), *(root / "workers").rglob("*.py")]:
        if path == root / "app" / "egress_rules.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                defined = {node.name}
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined = {t.id for t in targets if isinstance(t, ast.Name)}
            else:
                continue
            copies += [f"{path.relative_to(root)}: {name}" for name in defined & SHARED_NAMES]
    assert copies == []


@pytest.mark.parametrize(("written", "message"), REFUSED)
def test_bad_entries_are_refused_naming_the_line(written, message):
    with pytest.raises(Invalid) as refused:
        allowlist.parse_text(f"dhis2.lan\n\n{written}\n10.0.0.5")
    assert refused.value.field == "egress_allowlist"
    assert refused.value.message.startswith("Line 3 (")
    assert message in refused.value.message


def test_blank_lines_and_duplicates_are_dropped_in_order():
    entries = allowlist.parse_text("\n10.0.0.5\n\n  \nDHIS2.lan\n10.0.0.5\ndhis2.lan.\n")
    assert [e.text for e in entries] == ["10.0.0.5", "dhis2.lan"]
    assert allowlist.parse_text("") == []


def test_too_many_entries_or_too_much_text_are_refused():
    many = "\n".join(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(allowlist.MAX_ENTRIES + 1))
    with pytest.raises(Invalid, match="At most 200 entries"):
        allowlist.parse_text(many)
    assert len(allowlist.parse_text("\n".join(many.splitlines()[:200]))) == 200
    with pytest.raises(Invalid, match="too long"):
        allowlist.parse_text("\n" * (allowlist.MAX_TEXT_LENGTH + 1))


def test_entries_that_are_not_text_are_refused():
    with pytest.raises(Invalid, match="Line 2: an entry must be text"):
        allowlist.parse_entries(["10.0.0.5", 10])


def warning_for(entry: str) -> str:
    return " ".join(allowlist.warnings([allowlist.parse_entry(entry)]))


@pytest.mark.parametrize(
    "entry",
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7"],
)
def test_an_entry_opening_a_whole_private_range_is_warned_about(entry):
    assert "opens every" in warning_for(entry) and f"in {entry}" in warning_for(entry)


def test_the_metadata_service_and_this_machine_are_warned_about():
    assert "cloud metadata service" in warning_for("169.254.169.254")
    assert "cloud metadata service" in warning_for("169.254.0.0/16")
    assert "every service on the machine" in warning_for("127.0.0.1")
    assert "every service on the machine" in warning_for("localhost")
    assert warning_for("127.0.0.1:8080") == ""
    assert "wide range" in warning_for("10.0.0.0/12")


def test_narrow_entries_get_no_warning_and_public_ones_are_said_to_change_nothing():
    assert warning_for("10.20.0.0/24") == ""
    assert warning_for("dhis2.lan") == ""
    assert warning_for("[fd00::/64]:443") == ""
    assert "changes nothing" in warning_for("8.8.8.8")
