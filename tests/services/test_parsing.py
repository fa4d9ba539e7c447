"""Documents people send are refused with a message that says what to fix, never a crash."""

from __future__ import annotations

import pytest

from app.services.errors import Invalid
from app.services.parsing import MAX_DEPTH, load_json, load_yaml


def refusal(call) -> str:
    with pytest.raises(Invalid) as caught:
        call()
    assert caught.value.field == "body"
    return caught.value.message


def test_good_json_and_yaml_come_back_as_values():
    assert load_json('{"a": [1, 2.5, "x"]}', field="body") == {"a": [1, 2.5, "x"]}
    assert load_yaml("a:\n  - 1\n  - b\n", field="body") == {"a": [1, "b"]}


def test_syntax_errors_say_where():
    assert "line 1, column 7" in refusal(lambda: load_json('{"a": }', field="body"))
    assert "not valid YAML" in refusal(lambda: load_yaml("a: [1,\nb: 2", field="body"))


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', "[1e999]"])
def test_numbers_json_cannot_store_are_refused(text):
    assert "cannot store" in refusal(lambda: load_json(text, field="body"))


def test_deep_nesting_is_refused_without_exhausting_the_stack():
    assert "nested too deeply" in refusal(lambda: load_json("[" * 100_000, field="body"))
    assert "nested too deeply" in refusal(
        lambda: load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), field="body")
    )
    assert "nested too deeply" in refusal(lambda: load_yaml("[" * 5_000, field="body"))
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, field="body")


def test_nul_characters_are_refused_in_values_and_keys():
    assert "NUL" in refusal(lambda: load_json('{"a": "x\\u0000y"}', field="body"))
    assert "NUL" in refusal(lambda: load_json('{"x\\u0000": 1}', field="body"))


def test_bytes_that_are_not_utf8_are_refused():
    assert "UTF-8" in refusal(lambda: load_json(b'{"a": "\xff"}', field="body"))


def test_nesting_depth_is_measured_on_objects_and_lists_only():
    from app.services.parsing import nested_deeper_than

    assert not nested_deeper_than({"a": [1, {"b": "x" * 1000}]}, limit=3)
    assert nested_deeper_than({"a": [1, {"b": []}]}, limit=3)
    assert not nested_deeper_than("just text", limit=0)
