"""Masking credential values in text that arrives in pieces (a dataclip streamed to a
download), with the same result as masking the whole text at once.

A secret may straddle two pieces, so each piece is masked only up to a cut that no secret
occurrence crosses, and the rest waits for the next piece. The rest is at most one secret
long, so memory stays one piece plus one secret whatever the text's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from app.scrub import Scrubber


def masked_chunks(pieces: Iterable[str], masker: Scrubber) -> Iterator[str]:
    """`pieces` masked by `masker`, joined they equal `masker.scrub_text("".join(pieces))`."""
    if not masker:
        yield from pieces
        return
    hold = max(len(secret) for secret in masker.secrets) - 1
    carry = ""
    for piece in pieces:
        text = carry + piece
        cut = _safe_cut(text, len(text) - hold, masker.secrets)
        if cut > 0:
            yield masker.scrub_text(text[:cut])
        carry = text[cut:]
    if carry:
        yield masker.scrub_text(carry)


def _safe_cut(text: str, cut: int, secrets: tuple[str, ...]) -> int:
    """`cut` moved right past every secret occurrence that starts before it and ends after
    it. Text from `cut` on is at most `hold` long, so an occurrence starting before `cut`
    lies wholly inside `text` and is found here."""
    if cut <= 0:
        return 0
    moved = True
    while moved:
        moved = False
        for secret in secrets:
            start = text.find(secret, max(0, cut - len(secret) + 1), cut + len(secret) - 1)
            if start != -1 and start < cut < start + len(secret):
                cut, moved = start + len(secret), True
    return cut
