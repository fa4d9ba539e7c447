"""A large JSON object kept as its UTF-8 text, in pieces, instead of Python objects.

Python objects take about four times the memory of the JSON text they come from, so a 10 MB
state parsed in the worker costs 40 MB and more with each copy. A run's worker only carries
a large state between PostgreSQL and the sandbox, so it keeps the text: read as text from
the database, sent to the sandbox with the request frame around it, received back as the
result frame's tail, and stored with a cast to jsonb (which validates it). The pieces are
joined only where one buffer is needed (a database parameter), and never parsed unless a
rare path needs the objects (a failed step's errors, a credential value to mask).

Immutable: copies (`copy.deepcopy`, as the walker makes per followed edge) are itself.
Shared by the web side and the execution side (`workers.runtime.sandbox`), so it imports
nothing of either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

# States above this many bytes of JSON text travel as JsonText; smaller ones as objects
# (cheap either way, and every existing caller keeps its dicts).
RAW_ABOVE_BYTES = 64 * 1024

Piece = bytes | bytearray | memoryview


class JsonText:
    """The text of one JSON object, as a tuple of byte pieces."""

    __slots__ = ("pieces", "size")

    def __init__(self, pieces: Iterable[Piece]) -> None:
        self.pieces = tuple(piece for piece in pieces if len(piece))
        self.size = sum(len(piece) for piece in self.pieces)

    @classmethod
    def wrapping(cls, key: str, value: Piece, rest: dict | None = None) -> JsonText:
        """`{"<key>": <value>, ...rest}` around the JSON text `value`."""
        tail = b"".join(b", " + _dumps({k: v})[1:-1] for k, v in (rest or {}).items())
        return cls((b"{" + _dumps(key) + b": ", value, tail + b"}"))

    def with_key(self, key: str, value: object) -> JsonText:
        """The object with `key` set to `value` (a later duplicate key wins when parsed, in
        Python as in jsonb), without copying the text."""
        entry = _dumps(key) + b": " + _dumps(value)
        if self.size <= 16 and self.joined().strip() == b"{}":
            return JsonText((b"{", entry, b"}"))
        *head, last = self.pieces
        if bytes(last[-1:]) != b"}":
            raise ValueError("the JSON text does not end an object")
        return JsonText((*head, memoryview(last)[:-1], b", " + entry + b"}"))

    def contains(self, needle: bytes) -> bool:
        """Whether `needle` occurs in the text, also across two pieces."""
        pattern = re.compile(re.escape(needle))
        previous = b""
        for piece in self.pieces:
            if pattern.search(piece):
                return True
            edge = len(needle) - 1
            if previous and edge and pattern.search(previous + bytes(piece[:edge])):
                return True
            previous = bytes(piece[-edge:]) if edge else b""
        return False

    def joined(self) -> bytes:
        """The text in one buffer (for a database parameter)."""
        return b"".join(self.pieces)

    def parsed(self) -> object:
        """The objects: only where a rare path needs them."""
        return json.loads(self.joined())

    def __deepcopy__(self, memo: dict) -> JsonText:
        return self

    def __copy__(self) -> JsonText:
        return self

    def __repr__(self) -> str:
        return f"<JsonText {self.size:,} bytes>"


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
