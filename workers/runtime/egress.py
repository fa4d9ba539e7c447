"""Which network addresses a step may connect to.

By default a step may reach the public internet only: loopback, private, link-local (cloud
metadata at 169.254.169.254), CGNAT, unique-local, unspecified, multicast and reserved
addresses are refused, also when written as IPv4-mapped IPv6 (::ffff:127.0.0.1) or embedded
in NAT64/6to4 forms. A project's egress allowlist opens specific internal systems: an IP
(10.0.0.5), a CIDR range (10.0.0.0/24), a hostname (dhis2.lan), or an IP or hostname with a
port (10.0.0.5:8080, [fd00::5]:8080, dhis2.lan:8080), which opens that port only. The
sandbox's audit hook calls `check_address` with the *resolved* IP and the port at connect
time, so DNS names pointing inside and redirects to internal URLs are covered too.

The rules themselves (the refused ranges, how an entry reads, what it opens) live in
app/egress_rules.py, which the settings page (app/services/egress) uses too; this module
applies them to the running step.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from app import egress_rules
from app.egress_rules import Rule, parse_ip


@lru_cache(maxsize=256)
def parse_allowlist(allow: tuple[str, ...]) -> tuple[Rule, ...]:
    """The rules of the non-blank allowlist entries (each a network or a lower-case hostname,
    with the one port it opens or None for every port)."""
    return tuple(egress_rules.read_entry(entry) for entry in allow if entry.strip())


def allowed_hostnames(allow: tuple[str, ...]) -> frozenset[str]:
    """The hostnames the allowlist names (with or without a port): the ones to resolve."""
    return frozenset(rule.host for rule in parse_allowlist(allow) if rule.host is not None)


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
    return egress_rules.refusal_reason(address, _rules(allow), host, port)


def _rules(allow: list[str]) -> Iterator[Rule]:
    # A generator: the allowlist is read only when the address is an internal one.
    yield from parse_allowlist(tuple(allow))


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
