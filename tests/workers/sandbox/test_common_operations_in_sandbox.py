"""Every common operation run as a worker runs it: job code through the real fork-server
sandbox, with its import guard and audit hook, not only in the test process.

The JSONPath cases (`each("$.data.patients[*]", ...)`, `data_value`, `validate`) are the ones
that once failed only in the sandbox: jsonpath-ng's parser loads its tables through PLY's
`exec("import ...")`, which the import guard took for job code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from workers.adaptors import common
from workers.runtime.protocol import StepRequest, StepResult
from workers.runtime.sandboxes import AdaptorSandboxes

PATIENTS = [
    {"id": "p1", "name": "Ana", "active": True, "address": {"city": "Accra"}},
    {"id": "p2", "name": "Bo", "active": False, "address": {"city": "Lagos"}},
    {"id": "p3", "name": "Cy", "active": True},
]
STATE = {
    "data": {
        "patients": PATIENTS,
        "patient": {"name": "Ana"},
        "org_unit": "DiszpKrYNg8",
        "source": "clinic-a",
        "count": 3,
        "tags": ["new", "urgent"],
        "active": True,
        "id": "p1",
        "body": "id;name\n1;Ana\n\n2;Bo\n",
    },
    "references": [{"id": "ref-1"}, {"id": "ref-2"}],
}


@pytest.fixture(scope="module")
def sandboxes():
    """The worker's sandboxes, shared by this module's steps."""
    with AdaptorSandboxes() as running:
        yield running


@dataclass
class Case:
    """A job body using an operation, and what a user would see afterwards."""

    body: str
    check: Callable[[StepResult], None]
    state: dict | None = None
    fails: bool = False  # the case ends with a line that fails on purpose


def job_lines(result: StepResult) -> list[str]:
    return [line.message for line in result.logs if line.source == "job"]


def ids(items: list[dict]) -> list[str]:
    return [item["id"] for item in items]


def equal(actual: object, expected: object) -> None:
    assert actual == expected, actual


def lines_equal(result: StepResult, expected: list[str]) -> None:
    assert job_lines(result) == expected


def failed_with(result: StepResult, *phrases: str, line: int) -> None:
    """The step failed on `line` saying `phrases`, after the lines before it succeeded."""
    assert result.error["line"] == line
    for phrase in phrases:
        assert phrase in result.error["message"]
    assert result.state["data"] == STATE["data"]


def _each(result: StepResult) -> None:
    assert result.state["references"][2:] == ["p1@0", "p2@1", "p3@2"]
    assert result.state["data"] == STATE["data"] and "index" not in result.state


def _cursor(result: StepResult) -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00\.000Z", result.state["cursor"])
    assert result.state["since"] < result.state["cursor"]


def _fields(result: StepResult) -> None:
    assert [(p["orgUnit"], p["source"]) for p in result.state["data"]] == [("OU1", "clinic-a")] * 3


def _parse_csv(result: StepResult) -> None:
    assert result.state["data"] == [{"id": "1", "name": "Ana"}, {"id": "2", "name": "Bo"}]
    assert result.state["references"][-1] == STATE["data"]


CASES: dict[str, Case] = {
    "fn": Case(
        'fn(lambda state: {**state, "data": [p["id"] for p in state["data"]["patients"] '
        'if p["active"]]})',
        lambda r: equal(r.state["data"], ["p1", "p3"]),
    ),
    "fn_if": Case(
        'fn_if(S.data.active, log("active patient", S.data.id))\n'
        'fn_if(lambda state: state["data"]["count"] > 5, log("many patients"))',
        lambda r: lines_equal(r, ["active patient p1"]),
    ),
    "each": Case(
        'each("$.data.patients[*]", fn(lambda state: {**state, "references": '
        '[*state["references"], state["data"]["id"] + "@" + str(state["index"])]}))',
        _each,
    ),
    "combine": Case(
        'combine(fn(lambda state: {**state, "a": 1}),\n'
        '        fn(lambda state: {**state, "b": state["a"] + 1}))',
        lambda r: equal([r.state["a"], r.state["b"]], [1, 2]),
    ),
    "map": Case(
        'map("$.data.patients[*]", lambda patient, index: f"{index}:{patient[\'name\']}")',
        lambda r: equal(r.state["data"], ["0:Ana", "1:Bo", "2:Cy"]),
    ),
    "group": Case(
        'group(S.data.patients, "address.city")',
        lambda r: equal(
            {city: ids(items) for city, items in r.state["data"].items()},
            {"Accra": ["p1"], "Lagos": ["p2"]},
        ),
    ),
    "as_": Case(
        'as_("ids", map(S.data.patients, lambda patient: patient["id"]))',
        lambda r: equal([r.state["ids"], r.state["data"]], [["p1", "p2", "p3"], STATE["data"]]),
    ),
    "cursor": Case(
        'cursor(S.cursor, default_value="today")\ncursor("2 days ago", key="since")', _cursor
    ),
    "field": Case(
        "merge(S.data.patients,\n"
        '      fields(field("orgUnit", "OU1"), field("source", data_value("source"))))',
        _fields,
    ),
    "fields": Case(
        'merge(S.data.patients, fields(field("orgUnit", "OU1"), field("source", S.data.source)))',
        _fields,
    ),
    "merge": Case(
        'merge("$.data.patients[*]", {"orgUnit": S.data.org_unit})',
        lambda r: equal({p["orgUnit"] for p in r.state["data"]}, {"DiszpKrYNg8"}),
    ),
    "data_value": Case(
        'log("name:", data_value("patient.name"), data_value("$.patients[1].id"))',
        lambda r: lines_equal(r, ["name: Ana p2"]),
    ),
    "data_path": Case(
        'each(data_path("patients[*]"), log(S.data.id))',
        lambda r: lines_equal(r, ["p1", "p2", "p3"]),
    ),
    "source_value": Case(
        'log(source_value("$.references[0].id"), source_value("$.data.patients[2].name"))',
        lambda r: lines_equal(r, ["ref-1 Cy"]),
    ),
    "last_reference_value": Case(
        'log("the last step created", last_reference_value("$.id"))',
        lambda r: lines_equal(r, ["the last step created ref-2"]),
    ),
    "log": Case(
        'log("received", S.data.count, "patients", {"tags": S.data.tags})',
        lambda r: lines_equal(r, ['received 3 patients {"tags": ["new", "urgent"]}']),
    ),
    "assert_": Case(
        'assert_(S.data.patients, "the source sent no patients")\n'
        'assert_(lambda state: state["data"]["count"] > 5, "too few patients")',
        lambda r: failed_with(r, "too few patients", line=2),
        fails=True,
    ),
    "validate": Case(
        'validate({"type": "object", "required": ["patients", "count"]}, "data")\n'
        'validate("schema", "$.data.patients[*]")\n'
        'validate({"type": "object", "required": ["nhs_number"]})',
        lambda r: failed_with(
            r, "data does not match the schema", "'nhs_number' is a required", line=3
        ),
        {**STATE, "schema": {"type": "object", "required": ["id"]}},
        fails=True,
    ),
    "parse_csv": Case('parse_csv(S.data.body, {"delimiter": ";"})', _parse_csv),
    "chunk": Case(
        'fn(lambda state: {**state, "data": chunk(state["data"]["patients"], 2)})',
        lambda r: equal([ids(batch) for batch in r.state["data"]], [["p1", "p2"], ["p3"]]),
    ),
    "array_to_string": Case(
        'log(array_to_string(S.data.tags, ", "), array_to_string([1, None, True]))',
        lambda r: lines_equal(r, ["new, urgent 1,,true"]),
    ),
}


def test_every_common_operation_has_a_case():
    names = {name for name in common.OPERATIONS if not re.search(r"[A-Z]", name)}
    assert names == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_common_operation_runs_in_the_sandbox(sandboxes, name):
    case = CASES[name]
    request = StepRequest(body=case.body, adaptor="common", state=case.state or STATE)
    result = sandboxes.run(request)
    assert result.status == ("failed" if case.fails else "success"), result.error
    case.check(result)


def test_an_invalid_jsonpath_is_named_in_the_error(sandboxes):
    result = sandboxes.run(StepRequest(body='each("$.data[", log("x"))', adaptor="common",
                                       state=STATE))  # fmt: skip
    assert result.status == "failed"
    assert "'$.data[' is not a valid JSONPath" in result.error["message"]
    assert "Ferry sandbox" not in result.error["message"]
