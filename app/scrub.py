"""Replacing credential values with *** in logs and output states.

The secrets are the credential's string values (at any depth), the forms they take when
written into JSON or a URL (escaped, percent-encoded), their base64 forms, and the base64 of
`user:password` pairs (what an HTTP Basic auth header carries). Replacement is plain
string replacement, longest secret first, so regex metacharacters in a password are harmless
and a secret that contains another one is replaced whole.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values would mask ordinary words and numbers all over the logs.
MIN_SECRET_LENGTH = 4
# Values under these keys identify a system or an account rather than unlock it; masking
# them would make logs unreadable ("connecting to *** as ***") for no gain.
NON_SECRET_KEYS = frozenset(
    key.lower()
    for key in (
        "username",
        "user",
        "host",
        "hostname",
        "base_url",
        "baseUrl",
        "url",
        "instance_url",
        "port",
        "database",
        "db",
    )
)
USER_KEYS = ("username", "user", "login")
PASSWORD_KEYS = ("password", "pass", "pwd")


def _base64_forms(text: str) -> list[str]:
    """Standard and URL-safe base64 of `text`, without padding so longer blobs match too."""
    raw = text.encode()
    forms = {
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return sorted(forms)


def _written_forms(text: str) -> set[str]:
    """How `text` looks once written into JSON (log(S.configuration) dumps it with non-ASCII
    and quotes escaped) or into a URL (a key in a query string is percent-encoded)."""
    return {
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        quote(text, safe=""),
        quote_plus(text, safe=""),
    } - {text}


def _pair(mapping: dict, names: Iterable[str]) -> str | None:
    """The first string value among `names` (case-insensitive keys) in `mapping`."""
    lowered = {str(key).lower(): value for key, value in mapping.items()}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, str) and value:
            return value
    return None


class Scrubber:
    """Masks a fixed set of secret strings in text and JSON values."""

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        # Longest first: "hunter2-extra" must be masked before its part "hunter2".
        self.secrets: tuple[str, ...] = tuple(sorted(unique, key=lambda s: (-len(s), s)))

    @classmethod
    def from_configuration(cls, configuration: object) -> Scrubber:
        """A scrubber for every secret value in a credential body (any nesting)."""
        plain: list[str] = []
        encoded: list[str] = []
        _collect(configuration, None, plain, encoded)
        plain = [secret for secret in plain if len(secret) >= MIN_SECRET_LENGTH]
        for secret in plain:
            encoded.extend(_base64_forms(secret))
            encoded.extend(_written_forms(secret))
        return cls(plain + encoded)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def scrub_text(self, text: str) -> str:
        """`text` with every secret replaced by ***."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def scrub_json(self, value: object) -> object:
        """A copy of a JSON value with every string (keys too) scrubbed."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, dict):
            return {
                (self.scrub_text(k) if isinstance(k, str) else k): self.scrub_json(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.scrub_json(item) for item in value]
        return value


def _collect(value: object, key: str | None, plain: list[str], encoded: list[str]) -> None:
    """Append the secret strings under `value` (reached through `key`) to `plain`, and the
    base64 of username/password pairs to `encoded`."""
    if isinstance(value, str):
        if key is None or key.lower() not in NON_SECRET_KEYS:
            plain.append(value)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _collect(item, key, plain, encoded)
        return
    if not isinstance(value, dict):
        return
    for child_key, child in value.items():
        _collect(child, str(child_key), plain, encoded)
    user, password = _pair(value, USER_KEYS), _pair(value, PASSWORD_KEYS)
    if user is not None and password is not None and len(password) >= MIN_SECRET_LENGTH:
        # What an HTTP Basic auth header carries after "Basic ".
        encoded.extend(_base64_forms(f"{user}:{password}"))
