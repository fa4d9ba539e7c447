"""Which network addresses a step may connect to.

By default a step may reach the public internet only: loopback, private, link-local (cloud
metadata at 169.254.169.254), CGNAT, unique-local, unspecified, multicast and reserved
addresses are refused, also when written as IPv4-mapped IPv6 (::ffff:127.0.0.1) or embedded
in NAT64/6to4 forms. A project's egress allowlist opens specific internal systems: an IP
(10.0.0.5), a CIDR range (10.0.0.0/24), a hostname (dhis2.lan), or an IP or hostname with a
port (10.0.0.5:8080, [fd00::5]:8080, dhis2.lan:8080), which opens that port only. The
sandbox's audit hook calls `check_address` with the *resolved* IP and the port at connect
time, so DNS names pointing inside and redirects to internal URLs are covered too. The
settings page (app/services/egress) accepts exactly these forms; tests/services/egress check
that both read every entry the same way.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

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
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


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
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` is refused by default, or None if it is a public address."""
    target = effective_ip(ip)
    for network, reason in BLOCKED_RANGES:
        if target.version == network.version and target in network:
            return reason
    return None


# An entry with a port: "[v6]:port" or "host:port" (the host holds no colon).
_BRACKETED_PORT = re.compile(r"^\[([^\]]+)\]:(\d{1,5})$")
_HOST_PORT = re.compile(r"^([^:\[\]]+):(\d{1,5})$")

Networks = tuple[tuple[IPNetwork, int | None], ...]
Hosts = frozenset[tuple[str, int | None]]


def split_port(entry: str) -> tuple[str, int | None]:
    """`entry` without its port, and the port (None when the entry names no port)."""
    match = _BRACKETED_PORT.match(entry) or _HOST_PORT.match(entry)
    if match is None:
        return entry, None
    return match.group(1), int(match.group(2))


@lru_cache(maxsize=256)
def parse_allowlist(allow: tuple[str, ...]) -> tuple[Networks, Hosts]:
    """Split allowlist entries into networks (CIDRs and IPs) and lower-case hostnames, each
    with the one port it opens (None: every port)."""
    networks: list[tuple[IPNetwork, int | None]] = []
    hosts: set[tuple[str, int | None]] = set()
    for entry in allow:
        text, port = split_port(entry.strip())
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            hosts.add((normalise_host(text), port))
            continue
        networks.append((network, port))
        # An allowlisted ::ffff:10.0.0.5 means the same machine as 10.0.0.5.
        if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
            mapped = effective_ip(network.network_address)
            if mapped.version == 4:
                networks.append((ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}"), port))
    return tuple(networks), frozenset(hosts)


def allowed_hostnames(allow: tuple[str, ...]) -> frozenset[str]:
    """The hostnames the allowlist names (with or without a port): the ones to resolve."""
    return frozenset(name for name, _port in parse_allowlist(allow)[1])


def normalise_host(host: str) -> str:
    """Hostnames compare case-insensitively and without a trailing dot."""
    return host.strip().lower().rstrip(".")


def check_address(
    ip: str, allow: list[str], host: str | None = None, port: object = None
) -> str | None:
    """None if a step may connect to `ip` (on `port`), else the reason it may not.

    `host` is the hostname that was resolved to `ip`, when the caller knows it for sure;
    an allowlisted hostname opens the addresses it resolves to. An entry with a port opens
    only that port, so it never matches when the port is not known.
    """
    address = parse_ip(ip)
    if address is None:
        return f"{ip!r} is not an IP address"
    reason = blocked_reason(address)
    if reason is None:
        return None
    networks, hosts = parse_allowlist(tuple(allow))
    target = effective_ip(address)
    for network, only_port in networks:
        if only_port is not None and only_port != port:
            continue
        if (address.version == network.version and address in network) or (
            target.version == network.version and target in network
        ):
            return None
    if host is not None:
        name = normalise_host(host)
        if (name, None) in hosts or (isinstance(port, int) and (name, port) in hosts):
            return None
    return reason


def refusal_message(ip: str, port: object, reason: str) -> str:
    """The sentence a person sees when a connection is refused."""
    where = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    return (
        f"Ferry sandbox: connecting to {where} is not allowed ({reason}). Ask an admin to "
        "add it to the project's egress allowlist if this system is internal."
    )


# The allowlist of the step this process runs, set by the sandbox child before job code
# starts; None outside a sandboxed step (tests, the CLI's unsandboxed helpers).
_step_allow: tuple[str, ...] | None = None


def enter_step(allow: list[str]) -> None:
    """Record the running step's allowlist for `resolve_checked` (the sandbox child calls it)."""
    global _step_allow
    _step_allow = tuple(allow)


def resolve_checked(host: str, port: int) -> list[str]:
    """The IPs of `host` for a client whose sockets the audit hook cannot see (libpq opens
    them in C); inside a step, PermissionError if any of them is refused. Connect to these
    IPs (libpq: hostaddr=) so the name is not resolved again to somewhere else."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PermissionError(f"Ferry sandbox: cannot resolve {host!r}: {exc}") from exc
    ips = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if _step_allow is not None:
        for ip in ips:
            reason = check_address(ip, list(_step_allow), host, port)
            if reason is not None:
                raise PermissionError(refusal_message(ip, port, reason))
    return ips
