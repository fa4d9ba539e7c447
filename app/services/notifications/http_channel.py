"""The HTTP channel of failure alerts: the same alert as JSON, POSTed to the endpoint a
project's admin set (a chat tool's incoming webhook, a ticketing system), signed with the
project's secret when it has one: `X-Ferry-Signature: sha256=<hex HMAC-SHA256 of the body>`.

The project's egress policy applies as it does to steps: the endpoint's name is resolved
here, every address it resolves to must be public or opened by the project's allowlist, and
the connection goes to the address that was checked (the name still travels as Host and
for TLS), so a name that changes its answer between check and connect gains nothing.
Runs only in a job (workers.notification_jobs.http_alert); a failure is written to the
alert log and raised, so RQ retries it a couple of times.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx

from app import egress_rules
from app.extensions import db
from app.models import Project, Workflow
from app.models.notifications import AlertLogEntry
from app.services.encryption import decrypt_text
from app.services.notifications import alert_content

TIMEOUT_S = 5.0
SIGNATURE_HEADER = "X-Ferry-Signature"


class ChannelRefused(Exception):
    """The endpoint may not be reached, or did not accept the alert."""


def signature(secret: str, body: bytes) -> str:
    """The header value for `body` signed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def failure_payload(facts: alert_content.AlertFacts, last: bool) -> dict:
    """The JSON a failure alert sends (no dataclip, no log line unless the project asks)."""
    payload = {
        "type": "failure",
        "project": {"id": str(facts.project_id), "name": facts.project_name},
        "workflow": {"id": str(facts.workflow_id), "name": facts.workflow_name},
        "run_id": str(facts.run_id),
        "state": facts.state,
        "step": facts.step_name,
        "error": facts.error,
        "error_plain": facts.error_plain,
        "error_check": facts.error_check,
        "time": facts.finished_at.isoformat(),
        "links": {"run": facts.run_url, "history": facts.history_url},
        "last_before_limit": last,
    }
    if facts.log_lines:
        payload["log_lines"] = facts.log_lines
    return payload


def summary_payload(project: Project, workflow: Workflow, extra: dict) -> dict:
    """The JSON of a summary: how many alerts the rate limit held back, and when."""
    from datetime import datetime

    start, end = datetime.fromisoformat(extra["from"]), datetime.fromisoformat(extra["to"])
    return {
        "type": "summary",
        "project": {"id": str(project.id), "name": project.name},
        "workflow": {"id": str(workflow.id), "name": workflow.name},
        "count": int(extra["count"]),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "links": {"history": alert_content.history_url(project.id, workflow.id, start, end)},
    }


def deliver(entry_id: uuid.UUID, last: bool = False, extra: dict | None = None) -> str:
    """POST the alert a log entry stands for; returns its status. Raises ChannelRefused
    (after logging it) when it could not be delivered, so the job is retried."""
    entry = db.session.get(AlertLogEntry, entry_id)
    if entry is None or entry.status == "sent":
        return entry.status if entry else "gone"
    project = db.session.get(Project, entry.project_id)
    if project is None or not project.alert_webhook_url:
        entry.status, entry.detail = "failed", "The project has no HTTP endpoint any more."
        db.session.commit()
        return entry.status
    if entry.kind == "test":
        payload = {
            "type": "test",
            "project": {"id": str(project.id), "name": project.name},
            "time": entry.inserted_at.isoformat(),
            "message": "A test alert from Ferry: failure alerts will arrive here as JSON.",
        }
    elif entry.kind == "summary":
        workflow = db.session.get(Workflow, entry.workflow_id)
        payload = summary_payload(project, workflow, extra or {}) if workflow else None
    else:
        facts = alert_content.facts_for_run(entry.run_id) if entry.run_id else None
        payload = failure_payload(facts, last) if facts else None
    if payload is None:
        entry.status, entry.detail = "failed", "The run or workflow was deleted."
        db.session.commit()
        return entry.status
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    secret = (
        decrypt_text(project.alert_webhook_secret_encrypted)
        if project.alert_webhook_secret_encrypted
        else None
    )
    try:
        post(project.alert_webhook_url, body, secret, project.egress_allowlist or [])
    except ChannelRefused as error:
        entry.status, entry.detail = "failed", str(error)[:1000]
        db.session.commit()
        raise
    entry.status, entry.detail = "sent", ""
    db.session.commit()
    return entry.status


def post(url: str, body: bytes, secret: str | None, allowlist: list) -> None:
    """POST `body` to `url` within the egress policy; ChannelRefused says why not."""
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url) or len(url) > 2000:
        raise ChannelRefused("The endpoint URL is not valid: it has spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise ChannelRefused(f"The endpoint URL is not valid: {error}") from None
    host = parts.hostname
    if parts.scheme not in {"http", "https"} or not host:
        raise ChannelRefused(
            "The endpoint URL must start with http:// or https:// and name a host."
        )
    address = checked_address(host, port, allowlist)
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Ferry failure alerts",
        "Host": parts.netloc.rsplit("@", 1)[-1],
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    try:
        with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False) as client:
            response = client.post(
                target,
                content=body,
                headers=headers,
                # TLS checks the certificate against the name, though we connect to the IP.
                extensions={"sni_hostname": host} if parts.scheme == "https" else None,
            )
    except httpx.HTTPError as error:
        raise ChannelRefused(f"Could not reach {host}: {type(error).__name__}: {error}") from None
    if not 200 <= response.status_code < 300:
        raise ChannelRefused(f"{host} answered {response.status_code}.")


def checked_address(host: str, port: int, allowlist: list) -> str:
    """The first address `host` resolves to, once every one of them passed the egress
    policy (public, or opened by an allowlist entry); ChannelRefused otherwise."""
    rules = [egress_rules.read_entry(str(e)) for e in allowlist if str(e).strip()]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ChannelRefused(f"Could not resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    named = None if egress_rules.parse_ip(host.strip("[]")) else host
    for text in addresses:
        address = egress_rules.parse_ip(text.split("%", 1)[0])
        reason = (
            "not an address"
            if address is None
            else egress_rules.refusal_reason(address, rules, host=named, port=port)
        )
        if reason:
            raise ChannelRefused(
                f"{host} resolves to {text}, a {reason}: the project's egress allowlist "
                "does not open it."
            )
    if not addresses:
        raise ChannelRefused(f"{host} has no address.")
    return addresses[0].split("%", 1)[0]
