"""A project's alert settings, set by its admins: the rate limit of failure alerts, whether
mails carry the last log lines, and the HTTP channel (its URL and signing secret).

The URL must be https, or http to an internal host the project's egress allowlist opens
(cleartext over the internet would expose alerts on the way). It may not carry a user name or
password: the secret is the place for those, stored encrypted and never shown again. A URL
the egress policy would refuse is saved with a warning, as the builder warns about steps.
"""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.extensions import db
from app.models import Project, User
from app.services import audit
from app.services import projects as project_service
from app.services.egress import warnings as egress_warnings
from app.services.egress.allowlist import Entry
from app.services.encryption import encrypt_text
from app.services.errors import Invalid

ITEM = "project"
MIN_COUNT, MAX_COUNT = 1, 100
MIN_MINUTES, MAX_MINUTES = 1, 1440
MAX_URL_LENGTH = 2000
MAX_SECRET_LENGTH = 500
_CONTROL = set(string.whitespace) | {chr(code) for code in range(32)} | {"\x7f"}


@dataclass(frozen=True)
class AlertSettings:
    """The form's values, as given (strings from a form, or Python values)."""

    limit_count: object
    limit_minutes: object
    include_logs: bool
    webhook_url: object
    webhook_secret: object = ""
    remove_secret: bool = False


def update(actor: User, project_id: uuid.UUID, settings: AlertSettings) -> list[str]:
    """Store the settings; returns warnings (the URL would be refused by the egress policy).
    Invalid names the first bad field, and then nothing is stored."""
    project = project_service.get_project(project_id)
    count = _whole(settings.limit_count, "limit_count", MIN_COUNT, MAX_COUNT, "alerts")
    minutes = _whole(settings.limit_minutes, "limit_minutes", MIN_MINUTES, MAX_MINUTES, "minutes")
    entries = egress_warnings.project_entries(project_id)
    url, warning = check_url(settings.webhook_url, entries)
    secret = _secret(settings.webhook_secret)
    changes: dict[str, list] = {}
    for name, value in (
        ("alert_limit_count", count),
        ("alert_limit_minutes", minutes),
        ("alert_include_logs", bool(settings.include_logs)),
        ("alert_webhook_url", url),
    ):
        before = getattr(project, name)
        if before != value:
            changes[name] = [before, value]
            setattr(project, name, value)
    had_secret = project.alert_webhook_secret_encrypted is not None
    if settings.remove_secret or url is None:
        if had_secret:
            project.alert_webhook_secret_encrypted = None
            changes["alert_webhook_secret"] = ["set", "removed"]
    elif secret:
        project.alert_webhook_secret_encrypted = encrypt_text(secret)
        changes["alert_webhook_secret"] = ["set" if had_secret else "none", "changed"]
    if changes:
        audit.record(
            ITEM, project.id, "alert_settings_changed", actor.id, changes, project_id=project.id
        )
        db.session.commit()
    return [warning] if warning else []


def saved_warnings(project: Project) -> list[str]:
    """The warning about the saved URL under today's allowlist (it may have changed)."""
    if not project.alert_webhook_url:
        return []
    try:
        _url, warning = check_url(
            project.alert_webhook_url, egress_warnings.project_entries(project.id)
        )
    except Invalid as problem:
        return [problem.message]
    return [warning] if warning else []


def check_url(raw: object, entries: list[Entry]) -> tuple[str | None, str | None]:
    """The URL to store (None: no HTTP channel) and a warning when the egress policy would
    refuse it; Invalid says what to fix."""
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        raise Invalid("webhook_url", "The URL must be text.")
    url = raw.strip()
    if not url:
        return None, None
    if len(url) > MAX_URL_LENGTH:
        raise Invalid("webhook_url", f"The URL is too long: at most {MAX_URL_LENGTH} characters.")
    if any(char in _CONTROL for char in url):
        raise Invalid(
            "webhook_url",
            "The URL contains spaces or control characters (such as NUL); remove them.",
        )
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise Invalid(
            "webhook_url", "This is not a URL Ferry can read: check the address and port."
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Invalid(
            "webhook_url", "The URL must start with https:// (or http:// for an internal host)."
        )
    if not host:
        raise Invalid(
            "webhook_url", "The URL needs a host name, as in https://chat.example.org/hooks/…"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Invalid(
            "webhook_url",
            "Take the user name and password out of the URL: it is shown on this page and in "
            "the audit log. Put a shared secret in the secret field instead.",
        )
    port = port or egress_warnings.DEFAULT_PORTS[scheme]
    if scheme == "http" and not _allowlisted(host, port, entries):
        raise Invalid(
            "webhook_url",
            "Use https:// : alerts sent over plain http could be read on the way. Plain http is "
            "accepted only for an internal host listed in the egress allowlist (General tab).",
        )
    warning = egress_warnings.check_url(url, entries, "the alert channel")
    if warning is None:
        return url, None
    return url, (
        f"Alerts to {warning.address} would be refused: it is a {warning.reason}. "
        f"An admin can add {warning.entry} to the egress allowlist on the General tab."
    )


def _allowlisted(host: str, port: int, entries: list[Entry]) -> bool:
    """True when an allowlist entry opens this internal host (by name or address)."""
    name = host.strip("[]").lower()
    address = egress_warnings.literal_ip(name)
    return any(entry.opens(address, name, port) for entry in entries)


def _whole(raw: object, field: str, low: int, high: int, unit: str) -> int:
    message = f"Enter a whole number of {unit} from {low} to {high}."
    if isinstance(raw, bool):
        raise Invalid(field, message)
    if isinstance(raw, str):
        text = raw.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 6:
            raise Invalid(field, message)
        raw = int(text)
    if not isinstance(raw, int) or not low <= raw <= high:
        raise Invalid(field, message)
    return raw


def _secret(raw: object) -> str:
    """The new secret ("" keeps the stored one)."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise Invalid("webhook_secret", "The secret must be text.")
    if "\x00" in raw:
        raise Invalid("webhook_secret", "The secret contains a NUL character (\\u0000); remove it.")
    if len(raw) > MAX_SECRET_LENGTH:
        raise Invalid(
            "webhook_secret", f"The secret is too long: at most {MAX_SECRET_LENGTH} characters."
        )
    return raw
