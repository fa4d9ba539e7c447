"""The egress rules themselves: which addresses are internal, what an allowlist entry opens,
and whether a connection is refused.

One module serves both sides, so they cannot drift apart: the step sandbox enforces these
rules at connect time (workers/runtime/egress.py, inside the audit hook of every step), and
the project settings page and the step builder's warnings judge entries and addresses by
them (app/services/egress). Enforcement reads entries leniently (a `ferry` command line may
hand it anything); the settings page refuses what it would not read as meant, then reads the
entry it stores with `read_entry` here, so the page shows what the sandbox will do.

Pure on purpose, like app/scrub.py: standard library only, nothing else of Ferry. The
sandbox imports it before forking and trusts its code (TRUSTED_FILES in
workers/runtime/trust.py); tests/test_layering.py keeps it that way.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# (range, why it is refused). Order matters only for the wording of the reason.
BLOCKED_RANGES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason)
    for cidr, reason in (
        ("0.0.0.0/8", "unspecified address"),
        ("127.0.0.0/8", "loopback address"),
        ("10.0.0.0/8", "private address"),
        ("172.16.0.0/12", "private address"),
        ("192.168.0.0/16", "private address"),
        ("169.254.0.0/16", "link-local address, where cloud metadata services live"),
        ("100.64.0.0/10", "carrier-grade NAT address"),
        ("192.0.0.0/24", "IETF protocol address"),
        ("198.18.0.0/15", "benchmarking address"),
        ("224.0.0.0/4", "multicast address"),
        ("240.0.0.0/4", "reserved or broadcast address"),
        ("::/128", "unspecified address"),
        ("::1/128", "loopback address"),
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "site-local address"),
        ("fc00::/7", "unique-local (private) address"),
        ("ff00::/8", "multicast address"),
    )
)

# IPv6 prefixes that carry an IPv4 address in their low or embedded bits; the IPv4 address
# inside is what the packets finally reach, so that is the one to judge.
IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
IPV4_CARRIERS = (IPV4_MAPPED, IPV4_COMPATIBLE, NAT64, SIX_TO_FOUR)

# An entry with a port: "[v6]:port" or "host:port" (the host holds no colon).
_BRACKETED_PORT = re.compile(r"^\[([^\]]+)\]:(\d{1,5})$")
_HOST_PORT = re.compile(r"^([^:\[\]]+):(\d{1,5})$")


def parse_ip(text: str) -> IPAddress | None:
    """The address in `text` (zone ids like %eth0 dropped), or None if it is not an IP."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def effective_ip(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form stands for (mapped, NAT64, 6to4, compatible), else `ip`."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` is refused by default, or None if it is a public address."""
    target = effective_ip(ip)
    for network, reason in BLOCKED_RANGES:
        if target.version == network.version and target in network:
            return reason
    return None


def normalise_host(host: str) -> str:
    """Hostnames compare case-insensitively and without a trailing dot."""
    return host.strip().lower().rstrip(".")


@dataclass(frozen=True)
class Rule:
    """What one allowlist entry opens: a network (an IP is a one-address network) or a
    hostname, on one port or on every port."""

    network: IPNetwork | None = None
    host: str | None = None  # lower case, no trailing dot
    port: int | None = None  # None: every port
    # The IPv4 range an IPv6 entry such as ::ffff:10.0.0.5 stands for: the same machines.
    ipv4: ipaddress.IPv4Network | None = None

    def opens(self, address: IPAddress | None, host: str | None, port: object) -> bool:
        """True when this rule lets a step connect to `address` (or to `host`, the name
        that was resolved to it) on `port`. A rule with a port never matches an unknown one."""
        if self.port is not None and self.port != port:
            return False
        network = self.network
        if network is not None:
            if address is None:
                return False
            target = effective_ip(address)  # often `address` itself: judged once then
            candidates = (address,) if target is address else (address, target)
            return any(
                a.version == n.version and a in n
                for n in (network, self.ipv4)
                if n is not None
                for a in candidates
            )
        if self.host is None or host is None:
            return False
        return (self.port is None or isinstance(port, int)) and self.host == normalise_host(host)


def split_port(entry: str) -> tuple[str, int | None]:
    """`entry` without its port, and the port (None when the entry names no port)."""
    match = _BRACKETED_PORT.match(entry) or _HOST_PORT.match(entry)
    if match is None:
        return entry, None
    return match.group(1), int(match.group(2))


def read_entry(entry: str) -> Rule:
    """The rule a non-blank allowlist entry makes, read leniently: an IP or CIDR (host bits
    ignored) is a network, anything else a hostname, which never matches if it is not one."""
    text, port = split_port(entry.strip())
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return Rule(host=normalise_host(text), port=port)
    ipv4 = None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = effective_ip(network.network_address)
        if mapped.version == 4:
            ipv4 = ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return Rule(network=network, port=port, ipv4=ipv4)


def refusal_reason(
    address: IPAddress, rules: Iterable[Rule], host: str | None = None, port: object = None
) -> str | None:
    """Why a step may not connect to `address` on `port` under `rules`, or None when it may:
    a public address, or an internal one a rule opens. `host` is the name that was resolved
    to `address`, when the caller knows it for sure."""
    reason = blocked_reason(address)
    if reason is None or any(rule.opens(address, host, port) for rule in rules):
        return None
    return reason
