"""JSON text kept in pieces (app.json_text): built, extended and searched without being
parsed or joined, and equal to the objects it stands for."""

from __future__ import annotations

import copy
import json

import pytest

from app.json_text import JsonText


def test_a_body_wrapped_as_a_state_parses_to_the_same_state():
    body = json.dumps([{"id": 1, "name": "Nakato"}]).encode()
    state = JsonText.wrapping("data", body, {"request": {"method": "POST"}})
    assert state.parsed() == {"data": [{"id": 1, "name": "Nakato"}], "request": {"method": "POST"}}
    assert state.size == len(state.joined())
    assert body in state.pieces  # the body itself, not a copy


def test_a_key_is_added_without_copying_the_text_and_wins_over_a_stored_one():
    text = bytearray(b'{"data": [1, 2], "configuration": "stored"}')
    state = JsonText((text,)).with_key("configuration", {"password": "pa55"})
    assert state.parsed() == {"data": [1, 2], "configuration": {"password": "pa55"}}
    assert isinstance(state.pieces[0], memoryview) and state.pieces[0].obj is text
    assert JsonText((b"{}",)).with_key("a", 1).parsed() == {"a": 1}
    with pytest.raises(ValueError, match="does not end an object"):
        JsonText((b"[1]",)).with_key("a", 1)


@pytest.mark.parametrize("split", range(1, 12))
def test_a_needle_is_found_across_pieces(split):
    text = b'{"k": "hunter2"}'
    state = JsonText((text[:split], memoryview(bytearray(text[split:]))))
    assert state.contains(b"hunter2")
    assert not state.contains(b"hunter3")


def test_copies_are_the_text_itself():
    state = JsonText((b'{"a": 1}',))
    assert copy.deepcopy(state) is state and copy.copy(state) is state
    assert repr(state) == "<JsonText 8 bytes>"
