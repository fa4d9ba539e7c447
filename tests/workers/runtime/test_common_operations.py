"""The common operations against OpenFn language-common's documented semantics (and where
Ferry differs on purpose, against what Ferry's docstrings promise)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from workers.adaptors.common import (
    OPERATIONS,
    array_to_string,
    as_,
    assert_,
    chunk,
    combine,
    cursor,
    data_path,
    data_value,
    each,
    field,
    fields,
    fn,
    fn_if,
    group,
    last_reference_value,
    log,
    map,
    merge,
    parse_csv,
    source_value,
    validate,
)
from workers.runtime.errors import JobError, StateError
from workers.runtime.job import run_job
from workers.runtime.lazy import S, is_helper, is_operation, resolve
from workers.runtime.logs import capture


def lines_of(operation, state):
    """Run `operation` on `state`, returning (new state, log messages)."""
    seen = []
    with capture(seen.append):
        result = operation(state)
    return result, [(line.source, line.message) for line in seen]


def append(key, value):
    """A tiny operation: append the resolved value to state[key]."""
    return fn(lambda state: {**state, key: [*state.get(key, []), resolve(value, state)]})


# --- fn, fn_if, combine -------------------------------------------------------------------


def test_fn_calls_the_function_with_the_state_and_is_marked_as_an_operation():
    op = fn(lambda state: {**state, "data": state["data"] + 1})
    assert op({"data": 1}) == {"data": 2}
    assert is_operation(op)
    with pytest.raises(TypeError, match="fn needs a function"):
        fn("not a function")


def test_fn_if_runs_the_operation_only_when_the_condition_is_truthy():
    op = fn_if(S.data.ok, append("ran", True))
    assert op({"data": {"ok": True}})["ran"] == [True]
    assert "ran" not in op({"data": {"ok": False}})
    assert fn_if(lambda state: 0, append("ran", 1))({"data": {}}) == {"data": {}}


def test_combine_runs_operations_in_sequence_merging_each_result():
    op = combine(append("seen", 1), fn(lambda state: {"data": "replaced"}), append("seen", 2))
    assert op({"data": "x", "references": []}) == {
        "data": "replaced",
        "references": [],
        "seen": [1, 2],
    }


def test_combine_names_an_inner_operation_that_returned_none():
    with pytest.raises(StateError, match="operation 2 inside combine returned None"):
        combine(append("seen", 1), fn(lambda state: None))({"data": {}})


# --- each, map ----------------------------------------------------------------------------


def test_each_over_a_jsonpath_runs_once_per_item_with_data_and_index():
    state = {"data": {"items": [{"id": "a"}, {"id": "b"}]}, "references": [], "configuration": {}}
    result = each("$.data.items[*]", append("visits", lambda s: [s["data"]["id"], s["index"]]))(
        state
    )
    assert result["visits"] == [["a", 0], ["b", 1]]


def test_each_carries_state_between_items_then_restores_the_outer_data():
    state = {"data": [1, 2, 3], "references": ["earlier"]}
    add_reference = fn(lambda s: {**s, "references": [*s["references"], s["data"] * 10]})
    result = each(S.data, add_reference)(state)
    assert result == {"data": [1, 2, 3], "references": ["earlier", 10, 20, 30]}
    assert "index" not in result


def test_nested_each_puts_the_outer_index_back():
    state = {"data": [[1, 2], [3]]}
    inner = each(S.data, append("pairs", lambda s: s["data"]))
    result = each(S.data, combine(inner, append("outer", S.index)))(state)
    assert result["pairs"] == [1, 2, 3]
    assert result["outer"] == [0, 1]
    assert result["data"] == [[1, 2], [3]] and "index" not in result


def test_each_over_an_empty_list_returns_the_state_unchanged():
    assert each([], append("seen", 1))({"data": {"x": 1}}) == {"data": {"x": 1}}


def test_each_refuses_things_that_are_not_lists_and_operations_returning_none():
    with pytest.raises(JobError, match="each needs a list or a JSONPath string"):
        each(S.data, fn(lambda s: s))({"data": {"not": "a list"}})
    with pytest.raises(StateError, match=r"the operation inside each \(item 0\) returned None"):
        each(S.data, fn(lambda s: None))({"data": [1]})
    with pytest.raises(TypeError):
        each(None, fn(lambda s: s))


def test_each_with_an_invalid_jsonpath_says_so():
    with pytest.raises(JobError, match="is not a valid JSONPath"):
        each("$.data[[", fn(lambda s: s))({"data": []})


def test_map_writes_the_callback_results_to_data_passing_item_index_and_state():
    state = {"data": {"people": [{"name": "Ann"}, {"name": "Bo"}]}, "prefix": "#"}
    op = map("$.data.people[*]", lambda item, index, st: f"{st['prefix']}{index} {item['name']}")
    assert op(state)["data"] == ["#0 Ann", "#1 Bo"]
    assert map([1, 2], lambda item: item * 2)({"data": None})["data"] == [2, 4]
    assert map(S.data, str)({"data": [1, 2]})["data"] == ["1", "2"]


# --- group, merge, as_ --------------------------------------------------------------------

USERS = [
    {"name": "Alice", "city": "New York", "age": 25, "address": {"zip": "10001"}},
    {"name": "Bob", "city": "San Francisco", "age": 30},
    {"name": "Charlie", "city": "New York", "age": 25, "active": True},
    {"name": "David", "age": 30},
]


def test_group_groups_items_by_key_path_leaving_out_items_without_the_key():
    result = group(USERS, "city")({"data": None})
    assert result["data"] == {
        "New York": [USERS[0], USERS[2]],
        "San Francisco": [USERS[1]],
    }


def test_group_keys_follow_nested_paths_functions_and_become_json_strings():
    assert group(USERS, "address.zip")({})["data"] == {"10001": [USERS[0]]}
    assert list(group(USERS, "age")({})["data"]) == ["25", "30"]
    assert group(USERS, "active")({})["data"] == {"true": [USERS[2]]}
    by_initial = group(S.data, lambda user: user["name"][0])({"data": USERS[:2]})
    assert by_initial["data"] == {"A": [USERS[0]], "B": [USERS[1]]}


def test_group_hands_its_result_to_the_callback():
    def sizes(state):
        return {**state, "sizes": {key: len(items) for key, items in state["data"].items()}}

    op = group("$.data[*]", "age", sizes)
    assert op({"data": USERS})["sizes"] == {"25": 2, "30": 2}


def test_merge_adds_resolved_fields_to_every_item_at_the_path():
    state = {"data": {"books": [{"title": "A"}, {"title": "B"}], "publisher": "P"}}
    op = merge("$.data.books[*]", fields(field("publisher", source_value("$.data.publisher"))))
    assert op(state)["data"] == [
        {"title": "A", "publisher": "P"},
        {"title": "B", "publisher": "P"},
    ]


def test_as_stores_the_operation_data_under_a_key_and_keeps_data():
    fetch = fn(lambda state: {**state, "data": ["p1"], "response": {"status": 200}})
    result = as_("patients", fetch)({"data": {"keep": True}, "references": []})
    assert result == {
        "data": {"keep": True},
        "patients": ["p1"],
        "response": {"status": 200},
        "references": [],
    }


# --- values and helpers ---------------------------------------------------------------------


def test_field_and_fields_build_an_object_whose_lazy_values_resolve():
    built = fields(field("id", data_value("id")), field("fixed", 1))
    assert resolve(built, {"data": {"id": "x9"}}) == {"id": "x9", "fixed": 1}


def test_data_path_data_value_source_value_and_last_reference_value():
    assert data_path("id") == "$.data.id"
    assert data_path("$.patient.name") == "$.data.patient.name"
    assert data_path("[0]") == "$.data[0]"
    state = {"data": {"patient": {"name": "N"}}, "references": [{"id": 1}, {"id": 2}], "k": 5}
    assert data_value("patient.name")(state) == "N"
    assert data_value("missing")(state) is None
    assert source_value("$.k")(state) == 5
    assert last_reference_value("id")(state) == 2
    assert last_reference_value("$.id")({"references": []}) is None


def test_chunk_and_array_to_string_are_helpers_not_operations():
    assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert array_to_string(["a", 1, None, True]) == "a,1,,true"
    assert array_to_string(["a", "b"], ", ") == "a, b"
    for name in ("chunk", "array_to_string", "field", "fields", "data_value", "source_value"):
        assert is_helper(OPERATIONS[name]), name
    for name in ("fn", "each", "map", "cursor", "validate", "parse_csv"):
        assert not is_helper(OPERATIONS[name]), name
    with pytest.raises(ValueError, match="at least 1"):
        chunk([1], 0)


def test_camel_case_aliases_are_the_same_functions_and_keywords_are_not_registered():
    assert OPERATIONS["fnIf"] is OPERATIONS["fn_if"]
    assert OPERATIONS["dataValue"] is OPERATIONS["data_value"]
    assert OPERATIONS["parseCsv"] is OPERATIONS["parse_csv"]
    assert OPERATIONS["lastReferenceValue"] is OPERATIONS["last_reference_value"]
    assert "as" not in OPERATIONS and "assert" not in OPERATIONS


# --- log, assert_ ---------------------------------------------------------------------------


def test_log_writes_one_job_line_with_objects_as_json():
    state = {"data": {"n": [1, 2]}}
    result, lines = lines_of(log("Patients:", S.data.n, 3, None), state)
    assert result is state
    assert lines == [("job", "Patients: [1, 2] 3 null")]


def test_assert_passes_on_truthy_values_and_fails_with_the_message():
    state = {"data": {"ok": 1}}
    assert assert_(S.data.ok)(state) is state
    with pytest.raises(JobError, match=r"^no patients$"):
        assert_(lambda s: s["data"].get("patients"), "no patients")(state)
    with pytest.raises(JobError, match="assertion failed: the value was 0"):
        assert_(0)(state)


# --- cursor ---------------------------------------------------------------------------------


def iso_to_datetime(text: str) -> dt.datetime:
    """Parse the cursor's ISO string (with its Z) back into an aware datetime."""
    assert text.endswith("Z") and len(text) == 24, text
    return dt.datetime.fromisoformat(text[:-1] + "+00:00")


def midnight(days_ago: int = 0) -> str:
    """Midnight UTC, `days_ago` days ago, as the cursor writes it."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize(
    ("text", "days"), [("today", 0), ("yesterday", 1), ("7 days ago", 7), ("1 week ago", 7)]
)
def test_cursor_turns_day_words_into_midnight_utc(text, days):
    assert cursor(text)({"data": {}})["cursor"] == midnight(days)


def test_cursor_turns_now_and_hours_ago_into_that_moment():
    before = dt.datetime.now(dt.UTC)
    now = iso_to_datetime(cursor("now")({})["cursor"])
    earlier = iso_to_datetime(cursor("2 hours ago")({})["cursor"])
    after = dt.datetime.now(dt.UTC)
    assert before - dt.timedelta(milliseconds=1) <= now <= after
    two_hours = dt.timedelta(hours=2)
    assert before - two_hours - dt.timedelta(milliseconds=1) <= earlier <= after - two_hours


def test_cursor_start_is_the_same_moment_each_time():
    first = cursor("start")({})["cursor"]
    assert cursor("start")({})["cursor"] == first
    assert iso_to_datetime(first) <= dt.datetime.now(dt.UTC)


def test_cursor_uses_the_default_when_the_value_is_missing_and_logs_the_value():
    state = {"data": {}}
    result, lines = lines_of(cursor(S.cursor, default_value="today"), state)
    assert result["cursor"] == midnight()
    assert lines == [("adaptor", f"Setting cursor 'today' to {midnight()}")]
    assert cursor(S.cursor, default_value="today")({"cursor": "c9"})["cursor"] == "c9"
    assert cursor(lambda s: s.get("last"), default_value=1)({"last": None})["cursor"] == 1
    with pytest.raises(KeyError, match="no key 'cursor' in state"):
        cursor(S.cursor)(state)


def test_cursor_keeps_other_values_and_takes_a_key_and_a_formatter():
    assert cursor(22)({})["cursor"] == 22
    assert cursor("2024-03-01T10:00:00Z")({})["cursor"] == "2024-03-01T10:00:00Z"
    result = cursor("yesterday", key="since", format=lambda d: d.strftime("%Y-%m-%d"))({})
    assert result == {"since": midnight(1)[:10]}
    assert cursor(5, format=lambda page: page + 1)({})["cursor"] == 6


# --- validate -------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "required": ["name", "age"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
}


def test_validate_passes_valid_data_through():
    state = {"data": {"name": "Ann", "age": 3}}
    assert validate(SCHEMA)(state) is state


def test_validate_fails_listing_every_problem_with_its_path():
    with pytest.raises(JobError) as caught:
        validate(SCHEMA)({"data": {"age": -1}})
    assert caught.value.message == (
        "data does not match the schema (2 problem(s)):\n"
        "- data: 'name' is a required property\n"
        "- data.age: -1 is less than the minimum of 0"
    )


def test_validate_reads_the_schema_and_the_value_from_the_state():
    state = {"schema": SCHEMA, "form": {"name": 1, "age": 2}}
    with pytest.raises(JobError, match=r"- form\.name: 1 is not of type 'string'"):
        validate("schema", "form")(state)
    assert validate(S.schema, lambda s: {"name": "x", "age": 1})(state) is state


def test_validate_refuses_an_invalid_schema():
    with pytest.raises(JobError, match="the schema is not a valid JSON Schema"):
        validate({"type": "no-such-type"})({"data": {}})


# --- parse_csv ------------------------------------------------------------------------------

CSV = '\ufeffname, age\n"Smith, Ann",42\n\nBo , 7\n'


def test_parse_csv_reads_a_header_into_objects_and_keeps_the_previous_data_as_a_reference():
    result = parse_csv(CSV)({"data": "before", "references": []})
    assert result["data"] == [{"name": "Smith, Ann", "age": "42"}, {"name": "Bo", "age": "7"}]
    assert result["references"] == ["before"]


def test_parse_csv_options_delimiter_columns_and_empty_lines():
    text = "a;b\n1;2\n"
    assert parse_csv(text, {"delimiter": ";"})({})["data"] == [{"a": "1", "b": "2"}]
    assert parse_csv(text, {"delimiter": ";", "columns": False})({})["data"] == [
        ["a", "b"],
        ["1", "2"],
    ]
    named = parse_csv("1,2\n", {"columns": ["x", "y"]})({})["data"]
    assert named == [{"x": "1", "y": "2"}]
    kept = parse_csv("a\n\n1\n", {"skip_empty_lines": False, "columns": False})({})["data"]
    assert kept == [["a"], [], ["1"]]


def test_parse_csv_hands_chunks_to_the_callback():
    def collect(state, rows):
        return {**state, "batches": [*state.get("batches", []), [r["n"] for r in rows]]}

    result = parse_csv(S.data, {"chunkSize": 2}, collect)({"data": "n\n1\n2\n3\n"})
    assert result["batches"] == [["1", "2"], ["3"]]


def test_parse_csv_reports_ragged_records_and_unknown_options():
    with pytest.raises(JobError, match=r"CSV record 1 has 1 field\(s\) but there are 2 column"):
        parse_csv("a,b\n1\n")({})
    with pytest.raises(JobError, match="parse_csv has no option 'separator'"):
        parse_csv("a\n", {"separator": ";"})({})


# --- Lazy S in job code with the common adaptor -------------------------------------------------


def test_lazy_s_in_f_strings_and_dicts_through_the_common_adaptor():
    body = (
        "cursor('today')\n"
        "log(f'since {S.cursor} for {S.data.org}', {'org': S.data.org, 'n': len(S.data.ids)})\n"
        "fn(lambda state: {**state, 'data': json.loads(json.dumps(state['data']))})\n"
        "import json\n"
    )
    seen = []
    with capture(seen.append):
        result = run_job(body, "common", {"data": {"org": "O1", "ids": [1, 2]}})
    messages = [line.message for line in seen if line.source == "job"]
    assert messages == [f'since {midnight()} for O1 {{"org": "O1", "n": 2}}']
    assert result["data"] == {"org": "O1", "ids": [1, 2]}
    json.dumps(result)
