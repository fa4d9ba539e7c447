"""JSONPath errors in the common operations name the path, and only when the path is at fault."""

from __future__ import annotations

import pytest

from workers.adaptors import common_data
from workers.runtime.errors import JobError


@pytest.fixture
def fresh_parser_cache():
    common_data._compiled.cache_clear()
    yield
    common_data._compiled.cache_clear()


def test_an_invalid_path_is_named(fresh_parser_cache):
    with pytest.raises(JobError, match=r"'\$\.data\[' is not a valid JSONPath"):
        common_data.select("$.data[", {"data": []})


def test_a_sandbox_refusal_while_parsing_is_not_blamed_on_the_path(fresh_parser_cache, monkeypatch):
    refusal = ImportError("Ferry sandbox: importing 'x' is not allowed in a step.")

    def refuse(path):
        raise refusal

    monkeypatch.setattr(common_data, "parse_jsonpath", refuse)
    with pytest.raises(ImportError) as raised:
        common_data.select("$.data[*]", {"data": [1]})
    assert raised.value is refusal
