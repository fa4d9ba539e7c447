"""The job-expression compiler: what becomes an operation, how S is made lazy, and the errors
people see (each naming its line and saying what to do)."""

from __future__ import annotations

import pytest

from workers.adaptors import common
from workers.runtime.compiler import ALLOWED_IMPORTS, compile_job
from workers.runtime.compiler_builtins import job_builtins
from workers.runtime.errors import JobCompileError, SecurityViolation
from workers.runtime.lazy import operation, resolve


def record(value):
    """A test operation: appends its resolved argument to state["recorded"]."""

    @operation
    def run(state):
        return {**state, "recorded": [*state.get("recorded", []), resolve(value, state)]}

    return run


def post_like(path, body=None, *, query=None):
    """A test operation shaped like http's post: records (path, body, query) it was sent."""

    @operation
    def run(state):
        sent = [resolve(path, state), resolve(body, state), resolve(query, state)]
        return {**state, "sent": [*state.get("sent", []), sent]}

    return run


FAKE = {**common.OPERATIONS, "record": record, "post_like": post_like}


def run(source: str, state: dict | None = None, available=FAKE) -> dict:
    """Compile, build and apply every operation, as run_job does (without its checks)."""
    current = state if state is not None else {"data": {}, "references": []}
    for step in compile_job(source, available, adaptor="fake").build():
        current = step.operation(current)
    return current


def compile_error(source: str, available=FAKE) -> JobCompileError:
    """The JobCompileError that compiling and building `source` raises."""
    with pytest.raises(JobCompileError) as caught:
        compile_job(source, available, adaptor="fake").build()
    return caught.value


# --- What becomes an operation --------------------------------------------------------------


def test_top_level_calls_become_operations_in_order_with_their_lines():
    source = "record(1)\n\nrecord(2)\npost_like('/x')\n"
    steps = compile_job(source, FAKE).build()
    assert [(step.line, step.name) for step in steps] == [
        (1, "record"),
        (3, "record"),
        (4, "post_like"),
    ]
    assert run(source)["recorded"] == [1, 2]


def test_defs_assignments_and_imports_run_before_any_operation():
    source = (
        "record(GREETING)\n"
        "fn(lambda state: {**state, 'data': shout(state['recorded'][0])})\n"
        "GREETING = 'hello'\n"
        "import json\n"
        "def shout(text):\n"
        "    return json.dumps(text.upper())\n"
    )
    assert run(source)["data"] == '"HELLO"'


def test_an_fn_decorated_function_is_an_operation_in_its_place():
    source = (
        "record('first')\n"
        "@fn\n"
        "def second(state):\n"
        "    return {**state, 'recorded': state['recorded'] + ['second']}\n"
        "record('third')\n"
    )
    steps = compile_job(source, FAKE).build()
    assert [(step.line, step.name) for step in steps] == [(1, "record"), (3, "fn"), (5, "record")]
    assert run(source)["recorded"] == ["first", "second", "third"]


def test_a_docstring_and_pass_at_the_top_are_ignored():
    assert run('"""Sync patients."""\npass\nrecord(1)')["recorded"] == [1]


def test_classes_defined_at_the_top_can_be_used_by_operations():
    source = (
        "class Counter:\n    def __init__(self):\n        self.count = 3\nrecord(Counter().count)\n"
    )
    assert run(source)["recorded"] == [3]


# --- S: lazy arguments --------------------------------------------------------------------


def test_s_in_an_f_string_a_dict_a_list_and_a_comprehension_reads_the_state_at_run_time():
    state = {"data": {"id": 7, "people": [{"name": "Ann"}, {"name": "Bo"}]}, "cursor": "c1"}
    source = (
        "post_like(f'/patients/{S.data.id}', {'since': S.cursor, 'ids': [S.data.id, 1]},"
        " query={'names': [p.name for p in S.data.people]})"
    )
    assert run(source, state)["sent"] == [
        ["/patients/7", {"since": "c1", "ids": [7, 1]}, {"names": ["Ann", "Bo"]}]
    ]


def test_s_is_evaluated_when_the_operation_runs_not_when_the_job_is_built():
    source = "fn(lambda state: {**state, 'data': {'n': 41}})\nrecord(S.data.n + 1)"
    assert run(source)["recorded"] == [42]


def test_s_inside_a_nested_operation_call_is_the_state_that_operation_receives():
    state = {"data": {"items": [{"name": "a", "id": 1}, {"name": "b", "id": 2}]}}
    source = "each('$.data.items[*]', post_like(f'/x/{S.data.id}', {'name': S.data.name}))"
    assert run(source, state)["sent"] == [
        ["/x/1", {"name": "a"}, None],
        ["/x/2", {"name": "b"}, None],
    ]


def test_each_over_a_lazy_s_list_with_nested_operations_two_levels_deep():
    state = {"data": [{"name": "a"}, {"name": "b"}]}
    source = "each(S.data, combine(record(S.data.name), record(S.index)))"
    assert run(source, state)["recorded"] == ["a", 0, "b", 1]


def test_plain_lambdas_are_left_for_the_operation_to_call_with_the_state():
    source = "record(lambda state: state['data']['x'] * 2)"
    assert run(source, {"data": {"x": 21}})["recorded"] == [42]


def test_a_whole_state_value_passed_through_s_arrives_as_plain_data():
    state = {"data": {"a": {"b": [1, 2]}}}
    recorded = run("record(S.data.a)\nrecord([S.data, S.data.a.b])", state)["recorded"]
    assert recorded == [{"b": [1, 2]}, [{"a": {"b": [1, 2]}}, [1, 2]]]
    assert type(recorded[0]) is dict and type(recorded[1][1]) is list


def test_a_missing_key_read_through_s_names_the_path_and_the_keys_there():
    with pytest.raises(KeyError) as caught:
        run("record(S.data.patient)", {"data": {"id": 1, "name": "x"}})
    assert str(caught.value) == "S.data.patient: no key 'patient' in state.data (keys: id, name)"


def test_map_stays_the_python_builtin_inside_functions_and_is_the_operation_at_the_top():
    source = (
        "fn(lambda state: {**state, 'data': list(map(str, state['data']))})\n"
        "map(S.data, lambda item, index: item + str(index))\n"
    )
    assert run(source, {"data": [5, 6]})["data"] == ["50", "61"]


def test_allowed_modules_import_and_work():
    source = (
        "import math\nfrom urllib.parse import quote\nimport datetime as dt\n"
        "record(quote('a b') + str(math.floor(2.5)))\n"
        "record(dt.datetime.strptime('2024-01-02', '%Y-%m-%d').day)\n"
    )
    assert run(source)["recorded"] == ["a%20b2", 2]
    assert {"json", "urllib.parse", "csv"} <= ALLOWED_IMPORTS


def test_job_code_has_no_type_builtin_and_no_unlisted_imports_at_run_time():
    with pytest.raises(NameError):
        run("fn(lambda state: {**state, 't': type(1)})")
    with pytest.raises(SecurityViolation, match="importing 'os' is not allowed"):
        job_builtins()["__import__"]("os")
    assert job_builtins()["__import__"]("json").dumps([1]) == "[1]"


# --- Errors -------------------------------------------------------------------------------


def test_a_syntax_error_names_its_line_and_the_parser_message():
    error = compile_error("record(1)\nrecord(2\nrecord(3)\n")
    assert error.line == 2
    assert error.kind == "crashed"
    assert error.message.startswith("Syntax error on line 2: '(' was never closed")


def test_mistakes_python_only_finds_when_compiling_are_syntax_errors_too():
    error = compile_error("record(1)\nrecord((yield))")
    assert error.line == 2
    assert error.message.startswith("Syntax error on line 2: 'yield' outside function")


@pytest.mark.parametrize(
    ("source", "line", "phrase"),
    [
        ("record(1)\nfor x in [1]:\n    record(x)", 2, "a for loop cannot stand at the top level"),
        ("record(1)\nif True:\n    record(2)", 2, "an if statement cannot stand at the top level"),
        ("record(1)\n1 + 2", 2, "the expression '1 + 2' cannot stand at the top level"),
        ("import json\njson.dumps(1)", 2, "json.dumps(...) is not an operation"),
    ],
)
def test_a_top_level_statement_that_is_not_an_operation_says_where_logic_goes(source, line, phrase):
    error = compile_error(source)
    assert error.line == line
    assert phrase in error.message
    assert "fn(lambda state: ...)" in error.message and "@fn" in error.message


def test_an_unknown_operation_is_named_with_the_closest_suggestion_and_what_is_available():
    error = compile_error("record(1)\n\npost_lik('/x')")
    assert error.line == 3
    assert "unknown operation 'post_lik'. Did you mean 'post_like'?" in error.message
    assert "Operations available with the fake adaptor:" in error.message
    assert "each" in error.message and "record" in error.message


def test_calling_a_helper_or_a_job_function_at_the_top_explains_the_difference():
    assert "chunk() is a helper, not an operation" in compile_error("chunk([1, 2], 1)").message
    error = compile_error("record(1)\ntidy(1)\ndef tidy(state):\n    return state")
    assert error.line == 2
    assert "tidy is defined in this job, not an operation. Run it with fn(tidy)" in error.message


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("x = S.data", 1),
        ("record(1)\ndef f(state):\n    return S.data", 3),
        ("record(1)\n@fn\ndef f(state, default=S.cursor):\n    return state", 3),
    ],
)
def test_s_outside_an_operation_argument_is_explained(source, line):
    error = compile_error(source)
    assert error.line == line
    assert "S can only be used in the arguments of an operation call" in error.message


def test_s_inside_a_lambda_argument_points_at_the_lambda_parameter():
    error = compile_error("record(1)\nfn(lambda state: S.data)")
    assert error.line == 2
    assert "the lambda already receives the state" in error.message


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import os", "'os'"),
        ("import subprocess as sp", "'subprocess'"),
        ("from urllib import request", "'urllib'"),
        ("import urllib.request", "'urllib.request'"),
    ],
)
def test_an_import_off_the_allowlist_names_the_allowed_modules(source, module):
    error = compile_error(f"record(1)\n{source}")
    assert error.line == 2
    assert f"importing {module} is not allowed" in error.message
    assert "Allowed modules: base64, collections, csv, datetime" in error.message


def test_relative_and_star_imports_are_refused():
    assert "relative imports" in compile_error("from . import x").message
    assert "import the names you need" in compile_error("from json import *").message


@pytest.mark.parametrize(
    "source",
    [
        "fn(lambda state: state.__class__)",
        "x = ().__class__.__bases__",
        "fn(lambda state: [c for c in state.__dict__])",
    ],
)
def test_double_underscore_attributes_are_refused(source):
    error = compile_error(f"record(1)\n{source}")
    assert error.line == 2
    assert "double-underscore attributes" in error.message


@pytest.mark.parametrize(
    "name", ["eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars",
             "breakpoint", "input"],
)  # fmt: skip
def test_names_that_run_code_or_reach_the_interpreter_are_refused(name):
    error = compile_error(f"record(1)\nfn(lambda state: {name}('x'))")
    assert error.line == 2
    assert f"{name!r} is not available in Ferry jobs" in error.message


def test_dunder_names_such_as_builtins_are_refused():
    error = compile_error("__builtins__['open'] = None")
    assert "'__builtins__' is not available" in error.message


@pytest.mark.parametrize(
    "call",
    ["getattr(state, '__class__')", "getattr(state, name)", "setattr(state, '_x', 1)",
     "hasattr(state, '_' + '_dict__')", "delattr(state, attribute)"],
)  # fmt: skip
def test_reflective_access_by_computed_or_private_name_is_refused(call):
    error = compile_error(f"record(1)\nfn(lambda state: {call})")
    assert error.line == 2
    assert "needs a plain attribute name written out" in error.message


@pytest.mark.parametrize(
    "source",
    ["import json\njson.JSONEncoder.encode = len", "import json as j\ndel j.dumps",
     "from datetime import datetime\nfn(lambda s: setattr(datetime, 'now', None))",
     "import json\ndef f(state):\n    json.decoder.scanstring = 1\n    return state",
     "import collections\nfn(lambda s: delattr(collections, 'Counter'))"],
)  # fmt: skip
def test_changing_an_imported_module_or_its_classes_is_refused(source):
    error = compile_error(source)
    assert "jobs may not change modules or their classes" in error.message


def test_own_objects_and_state_can_still_be_changed():
    source = (
        "import json\nclass Box:\n    pass\nbox = Box()\nbox.value = json.dumps([1])\n"
        "def put(state):\n    state['data']['v'] = box.value\n    return state\nfn(put)"
    )
    assert run(source)["data"] == {"v": "[1]"}


def test_getattr_with_a_plain_literal_name_is_allowed():
    assert run("record(getattr('abc', 'upper')())")["recorded"] == ["ABC"]


def test_frame_attributes_and_private_format_fields_are_refused():
    generator = "def numbers():\n    yield 1\n"
    error = compile_error(generator + "fn(lambda state: numbers().gi_frame)")
    assert error.line == 3 and "'gi_frame' is not available" in error.message
    error = compile_error("fn(lambda state: '{0._secret}'.format(state))")
    assert "format fields may not read attributes starting with '_'" in error.message


def test_rebinding_an_operation_name_is_refused():
    error = compile_error("record(1)\nlog = []")
    assert error.line == 2
    assert "'log' is the name of an operation; choose another name" in error.message


def test_only_fn_may_decorate_a_function():
    error = compile_error("record(1)\n@fn_if(True)\ndef f(state):\n    return state")
    assert error.line == 2
    assert "@fn_if cannot decorate a function; only @fn can" in error.message


def test_failures_while_setting_up_name_the_line_and_the_error():
    error = compile_error("record(1)\nrate = 1 / 0")
    assert error.line == 2
    assert "ZeroDivisionError while setting up the job: division by zero" in error.message
    error = compile_error("record(1)\nfn(42)")
    assert error.line == 2
    assert "TypeError in fn(...): fn needs a function" in error.message
