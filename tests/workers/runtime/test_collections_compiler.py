"""The job compiler with a family of operations (`collections.get`): top-level calls, calls
nested in other operations, use inside functions, and mistakes named plainly."""

from __future__ import annotations

import pytest

from workers.adaptors import operations
from workers.runtime.compiler import compile_job
from workers.runtime.errors import JobCompileError

COMMON = operations("common")


def test_family_calls_are_operations_in_order():
    source = """
collections.set("patients", S.data["id"], S.data)
collections.get("patients", "p-*")
each(S.data, collections.remove("patients", S.data["id"]))
"""
    steps = compile_job(source, COMMON).build()
    assert [step.name for step in steps] == ["collections.set", "collections.get", "each"]


def test_a_misspelt_family_member_suggests_the_right_one():
    with pytest.raises(JobCompileError, match=r"Did you mean 'collections\.get'"):
        compile_job('collections.gett("patients", "k")', COMMON)


def test_other_attribute_calls_are_still_not_operations():
    with pytest.raises(JobCompileError, match=r"json.dumps\(\.\.\.\) is not an operation"):
        compile_job("import json\njson.dumps({})", COMMON)


def test_inside_a_function_the_family_is_one_name():
    source = """
@fn
def remember(state):
    return collections.get("patients", "k")
"""
    steps = compile_job(source, COMMON).build()
    made = steps[0].operation({"data": {}})
    assert callable(made)  # the operation, ready to be applied to a state


def test_the_stdlib_collections_module_may_still_be_imported():
    source = """
import collections
fn(lambda state: {**state, "n": collections.Counter("aab")["a"]})
"""
    steps = compile_job(source, COMMON).build()
    assert steps[0].operation({"data": {}})["n"] == 2


def test_large_sets_travel_in_batches_of_1000_items_or_8_megabytes():
    from workers.adaptors.collections_ops import _batches

    small = [{"key": f"k{i}", "value": i} for i in range(2500)]
    assert [chunk.count(b'"key"') for chunk in _batches(small)] == [1000, 1000, 500]
    big = [{"key": f"k{i}", "value": "x" * (3 * 1024 * 1024)} for i in range(5)]
    assert [chunk.count(b'"key"') for chunk in _batches(big)] == [2, 2, 1]
