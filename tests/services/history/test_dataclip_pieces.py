"""The pieces a large dataclip is streamed and previewed in: masking across pieces, the
binary COPY framing, and the indented start of a JSON text."""

from __future__ import annotations

import json
import random
import struct

import pytest

from app.scrub import Scrubber
from app.services.history.dataclip_download import field_bytes
from app.services.history.json_preview import human_size, indent_prefix
from app.services.history.masked_chunks import masked_chunks

SECRETS = Scrubber(["hunter2-extra", "hunter2", "tok3n/with\\slash"])


def pieces_of(text: str, sizes: list[int]) -> list[str]:
    out, at = [], 0
    for size in sizes:
        out.append(text[at : at + size])
        at += size
    return [*out, text[at:]]


@pytest.mark.parametrize("seed", range(40))
def test_masking_in_pieces_equals_masking_the_whole_text(seed):
    rng = random.Random(seed)
    words = ["hunter2", "hunter2-extra", "tok3n/with\\slash", "hunt", "er2", "abc", ", ", "{"]
    text = "".join(rng.choice(words) for _ in range(300))
    sizes = [rng.randint(1, 40) for _ in range(rng.randint(1, 80))]
    masked = "".join(masked_chunks(pieces_of(text, sizes), SECRETS))
    assert masked == SECRETS.scrub_text(text)
    assert "hunter2" not in masked


def test_a_secret_split_over_many_one_character_pieces_is_masked():
    text = "before hunter2-extra after"
    assert "".join(masked_chunks(list(text), SECRETS)) == "before *** after"


def test_without_secrets_the_pieces_pass_unchanged():
    pieces = ["a", "bc", ""]
    assert list(masked_chunks(pieces, Scrubber([]))) == pieces


def copy_binary(*values: bytes | None) -> bytes:
    """What PostgreSQL sends for a COPY (SELECT ...) TO STDOUT (FORMAT binary) of one
    column, a row per value."""
    rows = b"".join(
        struct.pack(">hi", 1, -1) if value is None else struct.pack(">hi", 1, len(value)) + value
        for value in values
    )
    return b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + rows + struct.pack(">h", -1)


@pytest.mark.parametrize("size", [1, 2, 5, 7, 64, 10_000])
def test_the_field_is_read_out_of_the_copy_framing_in_any_pieces(size):
    value = json.dumps({"rows": list(range(500))}).encode()
    stream = copy_binary(value)
    pieces = [stream[at : at + size] for at in range(0, len(stream), size)]
    assert b"".join(field_bytes(pieces)) == value


@pytest.mark.parametrize("size", [1, 3, 100])
def test_rows_come_out_one_by_one_in_order(size):
    stream = copy_binary(b"first piece ", None, b"second", b"", b" third")
    pieces = [stream[at : at + size] for at in range(0, len(stream), size)]
    assert list(field_bytes(pieces)) == [b"first piece ", b"second", b" third"]


def test_a_null_field_or_no_row_gives_nothing():
    assert list(field_bytes([copy_binary(None)])) == []
    assert list(field_bytes([copy_binary()])) == []


def test_the_preview_is_indented_like_json_dumps_and_survives_a_cut():
    value = [{"a": 1, "b": [1, {}], "c": 'x, [y] "q" {z}'}, [], {"d": {"e": None}}]
    text = json.dumps(value)
    assert indent_prefix(text) == json.dumps(value, indent=2)
    cut = indent_prefix(text[:40])  # inside the string holding brackets and commas
    assert cut.endswith('\n    "c": "x, [y] \\"q')


def test_sizes_read_as_people_read_them():
    assert [human_size(n) for n in (300, 20_000, 9_961_472)] == ["300 bytes", "19.5 KB", "9.5 MB"]
