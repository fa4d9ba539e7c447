"""The rules every way into a collection shares (page, API, jobs): what a collection name,
a key, a pattern, a value, a batch and a page may be, and the opaque paging cursor.

Pure functions over values: no database, so the API and the service word refusals alike.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from app.services import parsing
from app.services.errors import Invalid

NAME_MAX = 100
KEY_MAX = 255
BATCH_MAX = 1000
PAGE_MAX = 1000
PAGE_DEFAULT = 100
WILDCARD = "*"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Cursor versions: a later change of the cursor's shape refuses old ones with a sentence.
_CURSOR_TAG = "k1"


class Unreadable(Invalid):
    """A request part that cannot be read at all (a crafted cursor, a broken body): 400."""


class TooLarge(Invalid):
    """A value or batch above its limit: 413."""


def clean_name(raw: object) -> str:
    """A collection name: 1-100 letters, digits, `.`, `_` or `-`, starting with a letter or
    digit (names appear in URLs and job code, so they stay plain)."""
    name = raw.strip() if isinstance(raw, str) else ""
    if not name:
        raise Invalid("name", "Give the collection a name, e.g. patients-seen.")
    if len(name) > NAME_MAX:
        raise Invalid("name", f"A collection name has at most {NAME_MAX} characters.")
    if not _NAME.match(name):
        raise Invalid(
            "name",
            "A collection name may hold only letters, digits, '.', '_' and '-', and starts "
            "with a letter or digit (e.g. patients-seen).",
        )
    return name


def check_key(key: object, field: str = "key") -> str:
    """A key as given, or Invalid saying what to change: text of 1-255 characters with no NUL
    and no `*` (which stands for any text in patterns)."""
    if not isinstance(key, str):
        raise Invalid(field, f"A key must be text, not {parsing.kind_of(key)}.")
    if not key:
        raise Invalid(field, "A key cannot be empty.")
    if len(key) > KEY_MAX:
        raise Invalid(field, f"A key has at most {KEY_MAX} characters; this one has {len(key)}.")
    if "\x00" in key:
        raise Invalid(field, "A key cannot hold a NUL character (\\u0000). Remove it.")
    if WILDCARD in key:
        raise Invalid(field, "A key cannot hold '*', which stands for any text in a key pattern.")
    return key


@dataclass(frozen=True)
class Pattern:
    """A key pattern: `*` matches any text (also none); everything else matches itself.

    `prefix` is the literal text before the first `*`; the index serves the range
    `prefix <= key < upper`. `like` is the whole pattern as SQL LIKE (None when the prefix
    range alone decides), `exact` the key when there is no `*` at all."""

    text: str
    prefix: str
    like: str | None
    exact: str | None

    @property
    def upper(self) -> str | None:
        """The first string after every key starting with the prefix (None: no bound)."""
        return prefix_end(self.prefix)


def read_pattern(raw: object, field: str = "key") -> Pattern:
    """A Pattern from text; a pattern without `*` is one exact key."""
    if not isinstance(raw, str) or not raw:
        raise Invalid(field, "Give a key or a key pattern, e.g. patient-* (or * for every key).")
    if len(raw) > KEY_MAX:
        raise Invalid(field, f"A key pattern has at most {KEY_MAX} characters.")
    if "\x00" in raw:
        raise Invalid(field, "A key pattern cannot hold a NUL character (\\u0000). Remove it.")
    if WILDCARD not in raw:
        return Pattern(raw, raw, None, raw)
    prefix, _, rest = raw.partition(WILDCARD)
    # "abc*" is the prefix range alone; anything after the first star needs LIKE too.
    like = None if rest.strip(WILDCARD) == "" else _as_like(raw)
    return Pattern(raw, prefix, like, None)


def _as_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace(WILDCARD, "%")


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix`, by code point,
    which is byte order in UTF-8 and so the "C" collation's order; None for ""."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: skip them
                following = 0xE000
            return "".join(chars) + chr(following)
    return None


def encode_value(value: Any, limit_bytes: int, field: str = "value") -> str:
    """The JSON text stored for `value` (compact, characters unescaped, so its size is the
    size people think of); TooLarge above `limit_bytes`, Invalid for what JSON cannot hold."""
    if parsing.nested_deeper_than(value):
        raise Invalid(
            field,
            f"The value is nested too deeply: at most {parsing.MAX_DEPTH} levels of objects "
            "and lists.",
        )
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise Invalid(field, f"The value cannot be stored as JSON: {error}.") from None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit_bytes:
        raise TooLarge(
            field,
            f"The value is {size:,} bytes as JSON, above the {limit_bytes:,} bytes "
            f"({human_size(limit_bytes)}) a collection value may hold. Store smaller pieces "
            "under several keys.",
        )
    return text


def decode_value(text: str) -> Any:
    """The value stored as `text`."""
    return json.loads(text)


def check_batch(items: object, field: str = "items") -> list:
    """A list of at most BATCH_MAX items."""
    if not isinstance(items, list):
        raise Invalid(field, f"Send the items as a list, not {parsing.kind_of(items)}.")
    if len(items) > BATCH_MAX:
        raise TooLarge(
            field,
            f"A batch holds at most {BATCH_MAX} items; this one has {len(items)}. Send it in "
            "several batches.",
        )
    return items


def page_size(raw: int | None) -> int:
    """The page size asked for (default PAGE_DEFAULT), 1 to PAGE_MAX."""
    if raw is None:
        return PAGE_DEFAULT
    if not 1 <= raw <= PAGE_MAX:
        raise Invalid("limit", f"limit must be between 1 and {PAGE_MAX}.")
    return raw


def encode_cursor(last_key: str) -> str:
    """The opaque cursor of the page after `last_key`."""
    raw = json.dumps([_CURSOR_TAG, last_key], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor continues after; Unreadable for anything encode_cursor did not make.
    (Not signed: a cursor only says where to continue a listing the caller may read.)"""
    broken = Unreadable(
        "cursor", "The cursor is not one Ferry gave out: start again without a cursor."
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, UnicodeError):
        raise broken from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and decoded[0] == _CURSOR_TAG):
        raise broken
    key = decoded[1]
    try:
        check_key(key)
    except Invalid:
        raise broken from None
    if encode_cursor(key) != cursor:
        raise broken  # written differently: not ours
    return key


def human_size(size: int) -> str:
    """1536 -> "1.5 KB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{size / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")
