"""The egress allowlist as people write it: one entry a line, each checked and tidied, and
warnings where an entry opens more than one internal system.

Steps may reach the public internet only. Private, loopback and link-local addresses are
refused by default because a step runs on Ferry's own network: without the rule, job code
could read the cloud metadata service (169.254.169.254, which hands out the server's cloud
credentials), Ferry's own database and Redis, or any internal system nobody meant to expose
(server-side request forgery). An entry opens one internal system on purpose:

    10.0.0.5             one address, every port
    10.0.0.0/24          a CIDR range
    dhis2.lan            a hostname: the addresses it resolves to when the step connects
    10.0.0.5:8080        any of these with a port opens that port only
    [fd00::5]:443        (an IPv6 address with a port goes in brackets)

Refused: 0.0.0.0/0, ::/0 and every range wider than /8 (IPv6: /7), since they would switch
the protection off rather than open a system; IPv6 forms that carry an IPv4 address (the
runtime judges the IPv4 address inside, so write that); URLs, wildcards and anything else the
runtime would read differently. What an accepted entry opens is not decided here: the tidied
text is read by app/egress_rules.py, the same reader the step sandbox enforces.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app import egress_rules
from app.egress_rules import BLOCKED_RANGES, IPV4_CARRIERS, IPAddress, IPNetwork, Rule
from app.services.errors import Invalid

FIELD = "egress_allowlist"
MAX_ENTRIES = 200
MAX_ENTRY_LENGTH = 260  # a 253-character hostname, a colon and a port
MAX_TEXT_LENGTH = 20_000

METADATA = ipaddress.ip_address("169.254.169.254")
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_PORT = re.compile(r"^\d{1,5}$")


@dataclass(frozen=True)
class Entry:
    """One accepted entry: the text stored, and the rule the sandbox reads from that text."""

    text: str
    rule: Rule

    def opens(self, address: IPAddress | None, host: str | None, port: int | None) -> bool:
        """True when this entry lets a step connect to `address` (or to `host` by name)."""
        return self.rule.opens(address, host, port)


def parse_text(text: str) -> list[Entry]:
    """The entries of a textarea (one a line, blank lines ignored), or Invalid naming the
    first bad line."""
    if len(text) > MAX_TEXT_LENGTH:
        raise Invalid(FIELD, f"The allowlist is too long: at most {MAX_TEXT_LENGTH:,} characters.")
    return parse_entries(text.splitlines())


def parse_entries(lines: Iterable[object]) -> list[Entry]:
    """Each non-blank line as an entry, duplicates dropped, or Invalid naming the bad line."""
    entries: dict[str, Entry] = {}
    count = 0
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, str):
            raise Invalid(FIELD, f"Line {number}: an entry must be text.")
        if not line.strip():
            continue
        count += 1
        if count > MAX_ENTRIES:
            raise Invalid(
                FIELD, f"At most {MAX_ENTRIES} entries: use CIDR ranges to group addresses."
            )
        entry = parse_entry(line, number)
        entries.setdefault(entry.text, entry)
    return list(entries.values())


def parse_entry(line: str, number: int = 1) -> Entry:
    """One entry, tidied (lower case, IPs in their short form), or Invalid saying what to fix."""
    text = line.strip()
    shown = text if len(text) <= 60 else text[:57] + "…"

    def bad(message: str) -> Invalid:
        return Invalid(FIELD, f"Line {number} ({shown}): {message}")

    if len(text) > MAX_ENTRY_LENGTH:
        raise bad(f"too long; an entry has at most {MAX_ENTRY_LENGTH} characters.")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise bad("spaces or control characters inside an entry; put one entry on each line.")
    if "://" in text or text.count("/") > 1:
        raise bad("write the host only, without http:// or a path (e.g. 10.0.0.5:8080).")
    if "*" in text:
        raise bad("wildcards are not supported; list each host, or give a CIDR range.")
    if "%" in text:
        raise bad("zone ids (%eth0) are not supported; write the address without one.")
    host, port = _split_port(text, bad)
    network = _network(host, bad)
    if network is not None:
        base = str(network.network_address) if _single(network) else str(network)
        if network.version == 6 and port is not None:
            base = f"[{base}]"
    else:
        base = _hostname(host, bad)
    tidy = base if port is None else f"{base}:{port}"
    return Entry(tidy, egress_rules.read_entry(tidy))


def _split_port(text: str, bad) -> tuple[str, int | None]:
    """The host part and the port of an entry (IPv6 with a port is written in brackets)."""
    if text.startswith("["):
        match = re.match(r"^\[([^\]]*)\](?::(.*))?$", text)
        if match is None:
            raise bad("an IPv6 address with a port is written [fd00::5]:443.")
        host, port_text = match.group(1), match.group(2)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, None  # a name, an IPv4 address, or IPv6 without a port
    if not host:
        raise bad("give a host or an address before the port.")
    if port_text is None:
        return host, None
    if not _PORT.match(port_text) or not 1 <= int(port_text) <= 65535:
        raise bad("the port must be a number from 1 to 65535.")
    return host, int(port_text)


def _single(network: IPNetwork) -> bool:
    return network.prefixlen == network.max_prefixlen


def _network(host: str, bad) -> IPNetwork | None:
    """The address or CIDR range `host` names, or None when it is a hostname."""
    try:
        network = ipaddress.ip_network(host, strict=True)
    except ValueError as error:
        if "host bits set" in str(error):
            tidy = ipaddress.ip_network(host, strict=False)
            raise bad(f"not the start of a range; did you mean {tidy}?") from None
        if "/" in host or ":" in host or re.fullmatch(r"[0-9.]+", host):
            raise bad("not a valid IP address or CIDR range.") from None
        return None
    if network.prefixlen < (8 if network.version == 4 else 7):
        raise bad(
            "this would let steps reach every address, the Ferry server itself and the "
            "cloud metadata service included. List the internal systems you need instead."
        )
    if network.version == 6 and (
        egress_rules.effective_ip(network.network_address).version == 4
        if _single(network)
        else any(network.overlaps(prefix) for prefix in IPV4_CARRIERS)
    ):
        raise bad("an IPv6 form of an IPv4 address; write the IPv4 address (e.g. 10.0.0.5).")
    return network


def _hostname(host: str, bad) -> str:
    """A lower-case hostname, or Invalid when it could not be one."""
    name = egress_rules.normalise_host(host)
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise bad(
            "not a valid hostname, IP address or CIDR range (letters, digits, hyphens and "
            "dots, e.g. dhis2.lan)."
        )
    if labels[-1].isdigit():
        raise bad("not a valid IP address or hostname.")
    return name


def warnings(entries: Iterable[Entry]) -> list[str]:
    """What each entry opens beyond one internal system, worded for the admin saving it."""
    found = []
    for entry in entries:
        network, host = entry.rule.network, entry.rule.host
        if network is None:
            if host == "localhost" or (host or "").endswith(".localhost"):
                found.extend(_loopback_warning(entry))
            continue
        internal = [
            (r, why)
            for r, why in BLOCKED_RANGES
            if r.version == network.version and network.overlaps(r)
        ]
        if not internal:
            found.append(
                f"{entry.text} is a public address: steps reach it without an entry, so this "
                "entry changes nothing."
            )
            continue
        if network.version == METADATA.version and METADATA in network:
            found.append(
                f"{entry.text} opens the cloud metadata service (169.254.169.254), which hands "
                "out this server's cloud credentials to whoever asks. Remove it unless you are "
                "sure no step can misuse it."
            )
        if any(network.overlaps(loop) for loop in LOOPBACK):
            found.extend(_loopback_warning(entry))
        whole = [
            f"every {why.split(',')[0]} in {r}"
            for r, why in internal
            if r.version == network.version and r.subnet_of(network)  # type: ignore[arg-type]
        ]
        if whole or network.prefixlen < (17 if network.version == 4 else 64):
            size = (
                f"{network.num_addresses:,} addresses"
                if network.version == 4
                else f"a /{network.prefixlen} range"
            )
            what = "; ".join(whole) if whole else "a wide range of internal addresses"
            found.append(
                f"{entry.text} opens {what} ({size}): every internal system there becomes "
                "reachable from steps. Prefer single hosts or a smaller range."
            )
    return found


def _loopback_warning(entry: Entry) -> list[str]:
    if entry.rule.port is not None:
        return []
    return [
        f"{entry.text} opens every service on the machine that runs the steps (Ferry's own "
        "database and Redis among them). Add a port, e.g. 127.0.0.1:8080, to open one service."
    ]
