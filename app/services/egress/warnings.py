"""Build-time warnings: the addresses a step would be refused (URLs in its body or in the
request builder's fields, its credential's base URL or host) that the project's allowlist
does not open, so the analyst learns it while building rather than from a failed run.

Only what is certain without the network is judged: literal IP addresses (the shorthand
forms such as 127.1 included, read by `inet_aton`, which does no lookup) and localhost,
which RFC 6761 reserves for loopback. Hostnames are never resolved here: a lookup made while
answering the page could hang it for seconds when DNS is slow, and this server's answer may
differ from the worker's. The runtime judges the resolved address when the step connects, so
a hostname that points inside is still refused then, with a message naming the address.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from urllib.parse import urlsplit

from sqlalchemy import select

from app import egress_rules
from app.egress_rules import IPAddress
from app.extensions import db
from app.models import Credential, Project, ProjectCredential
from app.services.credentials.forms import visible_values
from app.services.egress import allowlist
from app.services.egress.allowlist import Entry
from app.services.encryption import DecryptionFailed, decrypt_json
from app.services.errors import Invalid

MAX_WARNINGS = 20
MAX_TEXT = 200_000  # characters of code or fields scanned; a body is rarely a tenth of it
_URL = re.compile(r"https?://[^\s\"'<>`\\,;)}\]]+(?:\][^\s\"'<>`\\,;)}]*)?", re.IGNORECASE)
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]+|\d+)){0,3}$", re.IGNORECASE)
_LOOPBACKS = (ip_address("127.0.0.1"), ip_address("::1"))
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class EgressWarning:
    """An address a step names that a run would not be allowed to reach."""

    where: str  # "the step's code", "credential “DHIS2 test”"
    address: str  # host[:port] as the step names it
    reason: str  # "loopback address"
    entry: str  # the allowlist entry that would open it


def refusal(host: str, port: int | None, entries: Iterable[Entry]) -> str | None:
    """Why a step may not reach `host` on `port` under `entries`, or None when it may (or
    when that cannot be told without resolving the name)."""
    entries = list(entries)
    name = egress_rules.normalise_host(host.strip("[]"))
    if name == "localhost" or name.endswith(".localhost"):
        # The worker resolves localhost to 127.0.0.1, ::1 or both: only a named entry, or
        # one covering both, opens it for sure.
        if any(e.opens(None, name, port) for e in entries) or all(
            any(e.opens(ip, None, port) for e in entries) for ip in _LOOPBACKS
        ):
            return None
        return "loopback address"
    address = literal_ip(name)
    if address is None:
        return None
    return egress_rules.refusal_reason(address, [e.rule for e in entries], port=port)


def literal_ip(host: str) -> IPAddress | None:
    """The address a host written as an IP stands for (127.0.0.1, ::1, 127.1, 2130706433)."""
    address = egress_rules.parse_ip(host.strip("[]"))
    if address is not None:
        return address
    if _NUMERIC_HOST.match(host):
        try:
            return IPv4Address(socket.inet_aton(host))  # a parser: no lookup
        except OSError:
            return None
    return None


def check_url(url: str, entries: list[Entry], where: str) -> EgressWarning | None:
    """A warning when the step may not reach `url`'s host and port."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None  # not a URL the step could open either
    if not host:
        return None
    return _warning(host, port, entries, where)


def check_host(host: str, port: int | None, entries: list[Entry], where: str):
    """A warning when the step may not reach `host` on `port` (a database credential)."""
    return _warning(host, port, entries, where)


def _warning(host: str, port: int | None, entries: list[Entry], where: str):
    reason = refusal(host, port, entries)
    if reason is None:
        return None
    bare = host.strip("[]")
    address = literal_ip(bare)
    if address is None:
        base = egress_rules.normalise_host(bare)
    else:
        address = egress_rules.effective_ip(address)  # the entry the settings page accepts
        base = f"[{address}]" if address.version == 6 else str(address)
    written = f"[{bare}]" if ":" in bare else bare
    return EgressWarning(
        where,
        f"{written}:{port}" if port else written,
        reason,
        f"{base}:{port}" if port else base,
    )


def check_texts(texts: Iterable[str], entries: list[Entry], where: str) -> list[EgressWarning]:
    """Warnings for every http(s) URL written in `texts` (code or form fields)."""
    found: dict[str, EgressWarning] = {}
    budget = MAX_TEXT
    for text in texts:
        if budget <= 0:
            break
        for match in _URL.finditer(text[:budget]):
            warning = check_url(match.group(0), entries, where)
            if warning is not None:
                found.setdefault(warning.address, warning)
            if len(found) >= MAX_WARNINGS:
                return list(found.values())
        budget -= len(text)
    return list(found.values())


def project_entries(project_id: uuid.UUID) -> list[Entry]:
    """The project's allowlist as entries; a stored entry that no longer parses is skipped
    (a warning too many is better than none)."""
    stored = db.session.scalar(select(Project.egress_allowlist).where(Project.id == project_id))
    entries = []
    for text in stored or []:
        try:
            entries.append(allowlist.parse_entry(str(text)))
        except Invalid:
            continue
    return entries


def for_step(
    project_id: uuid.UUID,
    texts: Iterable[str],
    credential_name: str | None,
    where: str = "the step's code",
) -> list[EgressWarning]:
    """Every warning for a step: the URLs in `texts` (found in `where`), then the
    credential's address."""
    entries = project_entries(project_id)
    found = check_texts(texts, entries, where)
    if credential_name:
        found.extend(_credential_warnings(project_id, credential_name, entries))
    return found[:MAX_WARNINGS]


def _credential_warnings(project_id: uuid.UUID, name: str, entries: list[Entry]) -> list:
    """The credential's base URL (or database host and port), read from its non-secret
    values; nothing when it is not exactly one credential shared into the project."""
    rows = db.session.execute(
        select(Credential.schema, Credential.body_encrypted)
        .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
        .where(ProjectCredential.project_id == project_id, Credential.name == name)
        .limit(2)
    ).all()
    if len(rows) != 1:
        return []
    schema, encrypted = rows[0]
    try:
        values = visible_values(schema, decrypt_json(encrypted))
    except DecryptionFailed:
        return []
    where = f"credential “{name}”"
    found = []
    for key in ("base_url", "url"):
        if isinstance(values.get(key), str):
            found.append(check_url(values[key], entries, where))
    if isinstance(values.get("host"), str):
        port = values.get("port")
        port = port if isinstance(port, int) and not isinstance(port, bool) else None
        found.append(check_host(values["host"], port or _default_port(schema), entries, where))
    return [w for w in found if w is not None]


def _default_port(schema: str) -> int | None:
    return 5432 if schema == "postgresql" else None
