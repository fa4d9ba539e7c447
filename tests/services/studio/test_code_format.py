"""The request builder's code is laid out like ruff would (one operation per statement, long
calls wrapped one argument per line), and every shape it writes reopens in the form ("Edit
line") and is written again unchanged, from any row of the statement."""

from __future__ import annotations

import ast

import pytest

from app.services import adaptor_catalog
from app.services.errors import Invalid
from app.services.studio import reopen, request_builder
from app.services.studio.code_format import WIDTH, format_line
from app.services.studio.request_builder import Value

SAMPLES = {
    "text": "https://registry.example.org/api/v2/patients/with/a/rather/long/path",
    "number": "42",
    "bool": "true",
    "input": "data.records.0.first name",
    "json": '{"a": [1, "x", null], "b": {"c": true}}',
}
ROW_MODES = ["text", "input", "number", "bool", "json"]


def value_for(field, mode: str) -> Value:
    if mode == "choice":
        return Value("choice", field.choices[0])
    if mode == "fields":
        return Value(
            "fields", rows=[{"key": f"k{m}", "mode": m, "value": SAMPLES[m]} for m in ROW_MODES]
        )
    if mode == "list":
        return Value("list", rows=[{"mode": m, "value": SAMPLES[m]} for m in ROW_MODES])
    return Value(mode, SAMPLES[mode])


def shapes():
    """Every (adaptor, operation, parameter, mode) the builder offers, with `each` or not."""
    for name in sorted(adaptor_catalog.adaptor_names()):
        ref = f"{name}@1"
        for op in request_builder.operations(ref):
            for field in request_builder.param_fields(ref, op["name"]):
                for mode in field.modes:
                    yield pytest.param(
                        ref,
                        op["name"],
                        field.name,
                        mode,
                        id=f"{name}.{op['name']}.{field.name}.{mode}",
                    )


@pytest.mark.parametrize(("ref", "operation", "param", "mode"), list(shapes()))
@pytest.mark.parametrize("each", ["", "data.records"])
def test_every_shape_reopens_from_its_laid_out_code_and_is_written_again(
    ref, operation, param, mode, each
):
    fields = {f.name: f for f in request_builder.param_fields(ref, operation)}
    values = {
        f.name: value_for(f, "text" if "text" in f.modes else f.modes[0])
        for f in fields.values()
        if f.required and f.name != param
    }
    values[param] = value_for(fields[param], mode)
    try:
        code = request_builder.build_line(ref, operation, values, each)
    except Invalid:
        pytest.skip("a combination the form itself refuses")
    ast.parse(code, mode="eval")
    assert all(len(line) <= WIDTH for line in code.split("\n") if '"' not in line)
    body = f'log("before")\n\n{code}\n\nlog("after")'
    lines = code.split("\n")
    for row in range(2, 2 + len(lines)):  # Edit line from any row of the statement
        found = reopen.statement_at(body, row)
        assert (found.text, found.first, found.last) == (code, 2, 1 + len(lines))
    form = reopen.parse_line(ref, code)
    assert request_builder.build_line(ref, form.operation, form.values, form.each) == code


def test_a_short_operation_stays_on_one_line():
    assert format_line('get(S.data.url, query={"page": 1})') == 'get(S.data.url, query={"page": 1})'


def test_a_long_operation_is_wrapped_one_argument_per_line():
    code = request_builder.build_line(
        "http@1",
        "post",
        {
            "path": Value("text", "http://127.0.0.1:5999/records"),
            "body": Value(
                "fields",
                rows=[
                    {"key": "full_name", "mode": "input", "value": "data.name"},
                    {"key": "years", "mode": "input", "value": "data.age"},
                    {"key": "source", "mode": "text", "value": "ferry"},
                    {"key": "registered_at", "mode": "input", "value": "data.registered"},
                ],
            ),
        },
        "data.records",
    )
    assert code == (
        "each(\n"
        "    S.data.records,\n"
        "    post(\n"
        '        "http://127.0.0.1:5999/records",\n'
        "        body={\n"
        '            "full_name": S.data.name,\n'
        '            "years": S.data.age,\n'
        '            "source": "ferry",\n'
        '            "registered_at": S.data.registered,\n'
        "        },\n"
        "    ),\n"
        ")"
    )


def test_edit_line_finds_the_statement_even_when_another_line_is_half_typed():
    body = 'each(\n    S.data,\n    post("/x", body={"a": S.data.a}),\n)\nlog(("half'
    found = reopen.statement_at(body, 2)
    assert (found.first, found.last) == (0, 3)
    assert reopen.parse_line("http@1", found.text).each == "data"


@pytest.mark.parametrize(
    ("body", "row"), [("", 0), ("log(1)\n\n", 1), ("log(1)", 5), ("log(1)", -1)]
)
def test_edit_line_off_any_statement_says_where_to_put_the_cursor(body, row):
    with pytest.raises(Invalid) as caught:
        reopen.statement_at(body, row)
    assert "Put the cursor on a line" in caught.value.message


def test_a_nul_character_in_a_line_is_refused_in_words():
    with pytest.raises(Invalid) as caught:
        reopen.parse_line("http@1", 'get("\x00")')
    assert "not a single operation call" in caught.value.message
