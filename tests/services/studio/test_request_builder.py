"""The request builder's lines for variadic operations (`log(*args)`, `combine(*ops)`,
`fields(*pairs)`): values are spread as positional arguments, run as written, and reopen
into the same form."""

from __future__ import annotations

import inspect
import json

import jsonschema
import pytest
from werkzeug.datastructures import MultiDict

from app.services import adaptor_catalog
from app.services.errors import Invalid
from app.services.studio import reopen as studio_reopen
from app.services.studio import request_builder as studio_requests
from app.services.studio.request_builder import Value
from workers.adaptors import operations as runtime_operations
from workers.runtime.job import run_job
from workers.runtime.logs import capture


def rows(*pairs: tuple[str, str]) -> Value:
    return Value("list", rows=[{"mode": mode, "value": value} for mode, value in pairs])


def round_trip(adaptor: str, line: str) -> str:
    """Reopen a line in the form and write it again."""
    form = studio_reopen.parse_line(adaptor, line)
    return studio_requests.build_line(adaptor, form.operation, form.values, form.each)


def logged(line: str, state: dict) -> list[str]:
    """What the line logs when it runs (the job messages)."""
    lines = []
    with capture(lines.append):
        run_job(line, "common@1", state)
    return [line.message for line in lines if line.source == "job"]


def test_log_values_are_spread_as_positional_arguments_and_run():
    values = rows(("text", "received"), ("input", "data.count"), ("number", "3"), ("text", ""))
    line = studio_requests.build_line("common@1", "log", {"args": values})
    assert line == 'log("received", S.data.count, 3)'
    assert logged(line, {"data": {"count": 12}}) == ["received 12 3"]
    reopened = studio_reopen.parse_line("common@1", line)
    assert reopened.values["args"].mode == "list"
    assert reopened.values["args"].rows == [
        {"mode": "text", "value": "received"},
        {"mode": "input", "value": "data.count"},
        {"mode": "number", "value": "3"},
    ]
    assert round_trip("common@1", line) == line


def test_a_json_list_is_spread_and_other_modes_give_one_value():
    line = studio_requests.build_line(
        "common@1", "log", {"args": Value("json", '["total", {"n": 2}, [1, true]]')}
    )
    assert line == 'log("total", {"n": 2}, [1, True])'
    assert logged(line, {"data": {}}) == ['total {"n": 2} [1, true]']
    # Objects and lists reopen as JSON rows of the list, and still write the same line.
    reopened = studio_reopen.parse_line("common@1", line).values["args"]
    assert reopened.mode == "list"
    assert [row["mode"] for row in reopened.rows] == ["text", "json", "json"]
    assert round_trip("common@1", line) == line
    assert (
        studio_requests.build_line("common@1", "log", {"args": Value("json", '"alone"')})
        == 'log("alone")'
    )
    single = studio_requests.build_line("common@1", "log", {"args": Value("input", "data")})
    assert single == "log(S.data)"
    assert round_trip("common@1", single) == single
    assert studio_requests.build_line("common@1", "log", {"args": rows()}) == "log()"
    with pytest.raises(Invalid) as caught:
        studio_requests.build_line("common@1", "log", {"args": Value("json", "[1,")})
    assert caught.value.field == "args"


def test_fields_and_combine_spread_too_and_repeat_per_record():
    pairs = Value("json", '[["source", "ferry"], ["batch", 1]]')
    assert (
        studio_requests.build_line("common@1", "fields", {"pairs": pairs})
        == 'fields(["source", "ferry"], ["batch", 1])'
    )
    each = studio_requests.build_line(
        "common@1", "log", {"args": rows(("text", "patient"), ("input", "data.id"))}, "data"
    )
    assert each == 'each(S.data, log("patient", S.data.id))'
    assert logged(each, {"data": [{"id": 7}, {"id": 8}]}) == ["patient 7", "patient 8"]
    assert round_trip("common@1", each) == each
    combined = studio_requests.build_line(
        "common@1", "combine", {"operations": rows(("input", "data.first"))}
    )
    assert combined == "combine(S.data.first)"


def test_a_line_from_the_old_builder_reopens_and_is_written_right():
    # Before spreading, the builder wrote log(args=[...]), which log(*args) refuses.
    assert round_trip("common@1", 'log(args=["a", 1])') == 'log("a", 1)'


def test_the_posted_form_reads_value_rows_without_names():
    form = MultiDict(
        [
            ("args-mode", "list"),
            ("args-rowmode", "text"),
            ("args-rowvalue", "count:"),
            ("args-rowmode", "input"),
            ("args-rowvalue", "data.n"),
        ]
    )
    assert studio_requests.line_from_form("common@1", "log", form) == 'log("count:", S.data.n)'
    field = studio_requests.form_for("common@1", "log").fields[0]
    assert field.variadic and field.modes == ["list", "json", "input"]


def test_an_optional_parameter_before_the_values_cannot_also_be_given(monkeypatch):
    # No shipped spec has one (def op(path, opts=None, *rest)); the form says so clearly.
    spec = {
        "name": "demo",
        "operations": [
            {
                "name": "op",
                "summary": "An operation with an optional parameter before its values.",
                "example": "op('a')",
                "parameters": {
                    "type": "object",
                    "required": ["path"],
                    "properties": {
                        "path": {"title": "Path", "type": "string"},
                        "opts": {"title": "Options", "type": "string", "default": "x"},
                        "rest": {"title": "Values", "type": "array", "variadic": True},
                    },
                },
            }
        ],
    }
    monkeypatch.setattr(adaptor_catalog, "spec", lambda name: spec)
    values = {"path": Value("text", "a"), "rest": rows(("number", "1"), ("number", "2"))}
    assert studio_requests.build_line("demo@1", "op", values) == 'op("a", 1, 2)'
    with pytest.raises(Invalid) as caught:
        studio_requests.build_line("demo@1", "op", {**values, "opts": Value("text", "y")})
    assert caught.value.field == "opts"
    assert "leave it empty while Values has values" in caught.value.message


@pytest.mark.parametrize("adaptor", adaptor_catalog.adaptor_names())
def test_variadic_flags_are_exactly_the_adaptors_star_args(adaptor):
    # Each parameter's "variadic" flag (default false) says whether the operation's function
    # takes it as *args; the form reads the flag, nothing else.
    available = runtime_operations(f"{adaptor}@1")
    for operation in adaptor_catalog.spec(adaptor)["operations"]:
        parameters = inspect.signature(available[operation["name"]]).parameters.values()
        star = {p.name for p in parameters if p.kind is p.VAR_POSITIONAL}
        properties = operation["parameters"]["properties"]
        flags = {name: prop.get("variadic", False) for name, prop in properties.items()}
        assert flags == {name: name in star for name in properties}, operation["name"]
        assert star <= set(properties), operation["name"]
        fields = studio_requests.form_for(f"{adaptor}@1", operation["name"]).fields
        assert {f.name for f in fields if f.variadic} == star, operation["name"]


def test_an_optional_array_without_the_flag_is_not_variadic(monkeypatch):
    # No more guessing from the shape: an unflagged array is one JSON value.
    spec = {
        "name": "demo",
        "operations": [
            {
                "name": "op",
                "summary": "An operation taking a list as one value.",
                "example": "op()",
                "parameters": {
                    "type": "object",
                    "required": [],
                    "properties": {"items": {"title": "Items", "type": "array"}},
                },
            }
        ],
    }
    monkeypatch.setattr(adaptor_catalog, "spec", lambda name: spec)
    field = studio_requests.form_for("demo@1", "op").fields[0]
    assert not field.variadic and "list" not in field.modes


def test_the_meta_schema_takes_the_flag_only_as_a_boolean_on_an_array_without_default():
    meta = json.loads((adaptor_catalog.SPEC_DIR / "meta-schema.json").read_text())
    validator = jsonschema.Draft202012Validator(meta)
    document = json.loads(json.dumps(adaptor_catalog.spec("common")))
    log = next(op for op in document["operations"] if op["name"] == "log")
    args = log["parameters"]["properties"]["args"]
    assert validator.is_valid(document)
    for bad in ({"variadic": "yes"}, {"type": "string"}, {"default": []}):
        saved = dict(args)
        args.update(bad)
        assert not validator.is_valid(document), bad
        args.clear()
        args.update(saved)


@pytest.mark.parametrize(
    ("text", "said"),
    [("[" * 100_000, "nested too deeply"), ('{"a": NaN}', "cannot store"), ('"x\\u0000"', "NUL")],
)
def test_json_values_ferry_cannot_keep_are_refused_on_their_field(text, said):
    """A 100,000-deep JSON value once crashed the builder with a RecursionError (a 500)."""
    for adaptor, operation, param in (("common@1", "log", "args"), ("http@1", "post", "body")):
        values = {"path": Value("text", "/patients"), param: Value("json", text)}
        with pytest.raises(Invalid) as caught:
            studio_requests.build_line(adaptor, operation, values)
        assert caught.value.field == param
        assert said in caught.value.message
