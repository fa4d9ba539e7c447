"""run_job end to end with the common adaptor: copies, clean output, failures that name the
operation and line, and print reaching the logs."""

from __future__ import annotations

import copy

import pytest

from workers.runtime.errors import JobCompileError, JobError, StateError
from workers.runtime.job import run_job
from workers.runtime.logs import LogLine, capture


def run_capturing(body: str, state: dict) -> tuple[dict, list[LogLine]]:
    """run_job, returning the output state and every log line emitted."""
    lines: list[LogLine] = []
    with capture(lines.append):
        result = run_job(body, "common", state)
    return result, lines


def test_the_input_state_is_not_mutated_and_data_and_references_default():
    state = {"data": {"items": [1, 2]}, "other": {"nested": [1]}}
    before = copy.deepcopy(state)
    body = (
        "@fn\n"
        "def scribble(state):\n"
        "    state['data']['items'].append(3)\n"
        "    state['other']['nested'].clear()\n"
        "    return state\n"
    )
    result = run_job(body, "common", state)
    assert state == before
    assert result == {"data": {"items": [1, 2, 3]}, "other": {"nested": []}, "references": []}
    assert run_job("fn(lambda state: state)", "common", {}) == {"data": {}, "references": []}


def test_configuration_reaches_operations_but_not_the_output():
    body = "fn(lambda state: {**state, 'data': {'user': state['configuration']['user']}})"
    state = {"data": {}, "configuration": {"user": "u1", "password": "p"}}
    result = run_job(body, "common", state)
    assert result == {"data": {"user": "u1"}, "references": []}


def test_an_operation_returning_none_is_a_state_error_naming_operation_and_line():
    body = "fn(lambda state: {**state, 'data': 1})\n\n\nfn(lambda state: None)\n"
    with pytest.raises(StateError) as caught:
        run_job(body, "common", {"data": 0, "configuration": {"secret": "s"}})
    error = caught.value
    assert error.line == 4
    assert error.message.startswith("Operation 'fn' on line 4 returned None: return the state")
    assert error.state == {"data": 1, "references": []}
    assert error.kind == "failed"


def test_an_operation_returning_something_else_than_a_dict_is_a_state_error():
    with pytest.raises(StateError, match="Operation 'fn' on line 1 returned list, not the state"):
        run_job("fn(lambda state: [state])", "common", {})


def test_an_exception_becomes_a_job_error_with_operation_line_original_error_and_state():
    body = (
        "fn(lambda state: {**state, 'data': {'count': 1}})\n"
        "fn(lambda state: {**state, 'data': state['data']['missing']})\n"
    )
    with pytest.raises(JobError) as caught:
        run_job(body, "common", {"configuration": {"token": "t"}})
    error = caught.value
    assert type(error) is JobError
    assert error.line == 2
    assert error.message == "Operation 'fn' on line 2 failed: KeyError: 'missing'"
    assert error.state == {"data": {"count": 1}, "references": []}
    assert isinstance(error.__cause__, KeyError)


def test_a_job_error_raised_by_an_operation_keeps_its_words_and_gains_the_line():
    body = "fn(lambda state: state)\nassert_(S.data.ok, 'the data is not ok')"
    with pytest.raises(JobError) as caught:
        run_job(body, "common", {"data": {"ok": False}})
    assert caught.value.message == "Operation 'assert_' on line 2 failed: the data is not ok"
    assert caught.value.line == 2


def test_a_missing_key_in_a_lazy_argument_names_the_path():
    with pytest.raises(JobError) as caught:
        run_job("log(S.data.patient.id)", "common", {"data": {"id": 1, "name": "x"}})
    assert caught.value.message == (
        "Operation 'log' on line 1 failed: StateKeyError: S.data.patient: no key 'patient' in "
        "state.data (keys: id, name)"
    )


def test_a_state_error_from_inside_an_operation_passes_through_with_the_line_filled_in():
    body = "fn(lambda state: state)\neach(S.data, fn(lambda item: None))"
    with pytest.raises(StateError) as caught:
        run_job(body, "common", {"data": [1]})
    assert caught.value.line == 2
    assert (
        caught.value.message == "the operation inside each (item 0) returned None: return the state"
    )
    assert caught.value.state == {"data": [1], "references": []}


@pytest.mark.parametrize(
    ("setup", "phrase"),
    [
        ("import datetime\nvalue = datetime.datetime(2024, 1, 1)",
         "state.data.when is a datetime: convert it to a string"),
        ("value = {1, 2}", "state.data.when is a set: convert it to a list"),
        ("value = float('nan')", "state.data.when is nan: JSON has no NaN"),
        ("value = [1, b'x']", "state.data.when[1] is a bytes: decode it"),
        ("value = {(1, 2): 'pair'}", "state.data.when has a tuple key (1, 2): keys must be"),
    ],
)  # fmt: skip
def test_output_that_json_cannot_hold_is_a_state_error_naming_the_path(setup, phrase):
    body = f"{setup}\nfn(lambda state: {{**state, 'data': {{'when': value}}}})"
    with pytest.raises(StateError) as caught:
        run_job(body, "common", {})
    assert phrase in caught.value.message


def test_print_in_job_code_becomes_a_job_log_line_and_each_operation_one_runtime_line():
    body = (
        "@fn\n"
        "def hello(state):\n"
        "    print('hello', state['data'], sep=', ')\n"
        "    print('no newline', end='')\n"
        "    return state\n"
        "log('done')\n"
    )
    result, lines = run_capturing(body, {"data": 7})
    assert result["data"] == 7
    job_lines = [(line.level, line.message) for line in lines if line.source == "job"]
    assert job_lines == [("info", "hello, 7"), ("info", "no newline"), ("info", "done")]
    runtime = [line.message for line in lines if line.source == "runtime"]
    assert len(runtime) == 2
    assert runtime[0].startswith("Operation 1/2 fn finished in ")
    assert runtime[1].startswith("Operation 2/2 log finished in ") and runtime[1].endswith(" ms")


def test_compile_errors_and_unknown_adaptors_are_crashes_before_anything_runs():
    with pytest.raises(JobCompileError) as caught:
        run_job("fn(lambda state: state)\nwhile True:\n    pass", "common", {})
    assert caught.value.line == 2 and caught.value.kind == "crashed"
    with pytest.raises(JobCompileError, match="Unknown adaptor 'nosuch@1'"):
        run_job("fn(lambda state: state)", "nosuch@1", {})
    with pytest.raises(JobCompileError, match="the common adaptor"):
        run_job("gett('/x')", "common", {})


def test_a_whole_job_with_each_cursor_and_lazy_arguments():
    body = (
        "cursor(S.cursor, default_value='2024-01-01T00:00:00.000Z')\n"
        "each('$.data.patients[*]', fn(lambda state: {**state, 'references': "
        "[*state['references'], state['data']['id']]}))\n"
        "map(S.data.patients, lambda patient: f\"{patient['id']}@{patient['site']}\")\n"
    )
    state = {"data": {"patients": [{"id": "p1", "site": "A"}, {"id": "p2", "site": "B"}]}}
    result = run_job(body, "common", state)
    assert result == {
        "data": ["p1@A", "p2@B"],
        "references": ["p1", "p2"],
        "cursor": "2024-01-01T00:00:00.000Z",
    }
