"""Credential fields named in words: the adaptor schema's titles, or the key humanised
("verify_tls" -> "Verify TLS") where a schema gives none. Pages never show raw keys."""

from __future__ import annotations

import re
from collections.abc import Mapping

ACRONYMS = {
    word.lower(): word
    for word in ("URL", "URI", "TLS", "SSL", "API", "ID", "IP", "HTTP", "HTTPS", "JSON", "OAuth")
}


def humanise(key: str) -> str:
    """A key as words: "base_url" -> "Base URL", "statementTimeoutMs" -> "Statement timeout ms"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").replace("-", " ")
    words = [ACRONYMS.get(word.lower(), word.lower()) for word in spaced.split()]
    if not words:
        return key
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def label_for(labels: Mapping[str, str], key: str) -> str:
    """A field's label from `labels`, or the key in words."""
    return labels.get(key) or humanise(key)
