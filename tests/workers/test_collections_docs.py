"""The `collections.*` operations in the adaptor reference: the common spec documents them
under their dotted names (which the meta-schema allows in that one form), `ferry docs`
shows them, and each spec example runs as a worker runs it, through the real sandbox
against the collections API served over HTTP (the `live` fixture of test_collections_dsl)."""

from __future__ import annotations

import json
from collections.abc import Callable

import jsonschema
import pytest
from click.testing import CliRunner

from app.services.collections import items
from tests.workers.test_collections_dsl import live, output_of, run_job  # noqa: F401
from workers.adaptors import SPEC_DIR, collections_ops, spec
from workers.cli import main

META = json.loads((SPEC_DIR / "meta-schema.json").read_text())
DOCUMENTED = {op["name"]: op for op in spec("common")["operations"] if "." in op["name"]}


def _validity(name: str) -> bool:
    document = json.loads(json.dumps(spec("common")))
    document["operations"][0]["name"] = name
    return jsonschema.Draft202012Validator(META).is_valid(document)


def test_the_common_spec_documents_exactly_the_collections_operations():
    assert set(DOCUMENTED) == set(collections_ops.OPERATIONS)
    for op in DOCUMENTED.values():
        assert op["parameters"]["properties"]["name"]["type"] == "string", op["name"]
        assert op["example"].startswith(op["name"] + "("), op["name"]
    assert DOCUMENTED["collections.get"]["writes"] == ["data"]


@pytest.mark.parametrize("name", ["collections.get", "collections.remove", "my_family.do_it_"])
def test_the_meta_schema_takes_a_family_operation_name(name):
    assert _validity(name)


@pytest.mark.parametrize(
    "name",
    ["a.b.c", ".get", "collections.", "collections..get", "Collections.get", "collections.Get",
     "collections_.get", "collections-ops.get", "collections get", "collections.get()"],
)  # fmt: skip
def test_the_meta_schema_refuses_any_other_dotted_name(name):
    assert not _validity(name)


def test_ferry_docs_lists_the_collections_operations_with_the_common_ones():
    answer = CliRunner().invoke(main, ["docs", "common"])
    assert answer.exit_code == 0, answer.output
    lines = answer.output.splitlines()
    for name, op in DOCUMENTED.items():
        assert any(line.split()[:1] == [name] and op["summary"][:40] in line for line in lines)


def test_ferry_docs_shows_one_collections_operation_under_its_own_name():
    answer = CliRunner().invoke(main, ["docs", "common", "collections.set"])
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("collections.set: Store a JSON value under a key")
    assert "De-duplicating patients" in answer.output
    assert "  key (string, required):" in answer.output
    assert DOCUMENTED["collections.set"]["example"] in answer.output


def test_ferry_docs_finds_a_collections_operation_under_any_adaptor():
    # Every job has them, so `ferry docs http collections.get` answers too.
    answer = CliRunner().invoke(main, ["docs", "http", "collections.get"])
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("collections.get: Set data to the value stored")
    assert "Every job also has the common operations: ferry docs common" in (
        CliRunner().invoke(main, ["docs", "http"]).output
    )


def test_ferry_docs_names_the_operations_when_one_is_unknown():
    answer = CliRunner().invoke(main, ["docs", "common", "collections.fetch"])
    assert answer.exit_code == 2
    assert "common has no operation 'collections.fetch'" in answer.output
    assert "collections.each" in answer.output


# --- each spec example, run by a worker against the API ----------------------------------
# What each example finds in place (set by lines run before it in the same step), the
# input it reads, and what a user would then see: the step's output or the collection.

PATIENTS = [{"id": "p1", "name": "Ana"}, {"id": "p2", "name": "Bo"}]


def _since(out: dict, project_id) -> None:
    assert out["data"] == "2024-05-01T00:00:00Z"  # the cursor the last run kept


def _seen_stored(out: dict, project_id) -> None:
    for patient in PATIENTS:
        assert items.get_item(project_id, "patients-seen", patient["id"]).value == patient


def _old_visits_gone(out: dict, project_id) -> None:
    assert items.get_item(project_id, "visits-sent", "2023-11-02") is None
    assert items.get_item(project_id, "visits-sent", "2024-01-05").value == {"visit": 2}


def _seen_listed(out: dict, project_id) -> None:
    assert out["seen"] == ["p1", "p2"]


EXAMPLES: dict[str, tuple[str, Callable]] = {
    "collections.get": (
        'collections.set("sync-state", "patients-since", "2024-05-01T00:00:00Z")',
        _since,
    ),
    "collections.set": ("", _seen_stored),
    "collections.remove": (
        'collections.set("visits-sent", "2023-11-02", {"visit": 1})\n'
        'collections.set("visits-sent", "2024-01-05", {"visit": 2})',
        _old_visits_gone,
    ),
    "collections.each": (
        'collections.set("patients-seen", lambda patient: patient["id"], S.data.patients)',
        _seen_listed,
    ),
}


def test_every_documented_collections_operation_has_an_example_case():
    assert set(EXAMPLES) == set(DOCUMENTED)


@pytest.mark.parametrize("operation", sorted(DOCUMENTED))
def test_the_spec_example_runs_in_the_sandbox_against_the_collections_api(live, operation):  # noqa: F811
    before, check = EXAMPLES[operation]
    body = f"{before}\n{DOCUMENTED[operation]['example']}".strip()
    result = run_job(
        live,
        body,
        {"patients": PATIENTS},
        collections=("sync-state", "patients-seen", "visits-sent"),
    )
    assert result["run"].state.value == "success", result["step"].error_message
    out = output_of(result)
    check(out, result["project_id"])
    if "data" not in DOCUMENTED[operation]["writes"]:
        assert out["data"] == {"patients": PATIENTS}, f"{operation} changed data"
