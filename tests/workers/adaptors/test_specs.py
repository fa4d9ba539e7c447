"""Every adaptor spec is valid, secret fields are marked, and specs match the code."""

from __future__ import annotations

import inspect
import json
import re

import jsonschema
import pytest

from workers.adaptors import ADAPTORS, SPEC_DIR, operations, spec
from workers.runtime.compiler import compile_job

META = json.loads((SPEC_DIR / "meta-schema.json").read_text())
# Independent of the meta-schema's regex on purpose: two statements of the rule, one check.
SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey", "privatekey")
NOT_SECRET_SUFFIXES = ("header", "url", "type", "name")


def looks_secret(name: str) -> bool:
    """Whether a credential field name says it holds a secret."""
    flat = re.sub(r"[^a-z]", "", name.lower())
    return any(word in flat for word in SECRET_WORDS) and not flat.endswith(NOT_SECRET_SUFFIXES)


# The common spec also documents the `collections.*` family every job has (its own module).
FAMILIES = {"common": ("collections_ops",)}


def module_operations(name: str) -> dict:
    """The operations the adaptor's spec documents: its module's own OPERATIONS (without the
    common ones), plus those of the families its spec covers."""
    found = {}
    for module_name in (name, *FAMILIES.get(name, ())):
        module = __import__(f"workers.adaptors.{module_name}", fromlist=["OPERATIONS"])
        found.update(module.OPERATIONS)
    return found


def snake_case_names(ops: dict) -> set[str]:
    """Operation names without their camelCase aliases."""
    return {name for name in ops if not re.search(r"[A-Z]", name)}


def test_the_meta_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(META)


@pytest.mark.parametrize("name", ADAPTORS)
def test_spec_validates_against_the_meta_schema(name):
    document = spec(name)
    jsonschema.Draft202012Validator(META, format_checker=jsonschema.FormatChecker()).validate(
        document
    )
    assert document["name"] == name
    jsonschema.Draft202012Validator.check_schema(document["credential_schema"])
    for operation in document["operations"]:
        jsonschema.Draft202012Validator.check_schema(operation["parameters"])
        declared = operation["parameters"]["properties"]
        assert set(operation["parameters"]["required"]) <= set(declared), operation["name"]


@pytest.mark.parametrize("name", ADAPTORS)
def test_secret_looking_credential_fields_are_marked_secret(name):
    properties = spec(name)["credential_schema"]["properties"]
    for field, schema in properties.items():
        assert schema.get("secret", False) is looks_secret(field), field


def test_the_meta_schema_itself_rejects_an_unmarked_secret_and_a_url_without_format():
    validator = jsonschema.Draft202012Validator(META)
    document = json.loads(json.dumps(spec("http")))
    del document["credential_schema"]["properties"]["api_key"]["secret"]
    assert any("secret" in error.message for error in validator.iter_errors(document))
    document = json.loads(json.dumps(spec("dhis2")))
    document["credential_schema"]["properties"]["clientSecret"] = {
        "title": "Client secret",
        "description": "OAuth2 client secret.",
        "type": "string",
        "secret": False,
        "examples": ["abc"],
    }
    assert not validator.is_valid(document)
    document = json.loads(json.dumps(spec("fhir")))
    del document["credential_schema"]["properties"]["base_url"]["format"]
    assert not validator.is_valid(document)


@pytest.mark.parametrize("name", ADAPTORS)
def test_spec_operations_are_exactly_the_module_operations_in_call_order(name):
    ops = module_operations(name)
    listed = {operation["name"] for operation in spec(name)["operations"]}
    assert listed == snake_case_names(ops)
    for operation in spec(name)["operations"]:
        parameters = inspect.signature(ops[operation["name"]]).parameters.values()
        names = [p.name for p in parameters if p.kind not in (p.VAR_KEYWORD,)]
        declared = list(operation["parameters"]["properties"])
        assert declared == names, operation["name"]


@pytest.mark.parametrize("name", ADAPTORS)
def test_required_parameters_are_those_without_a_default(name):
    # The request builder writes required parameters positionally and the rest as keywords.
    ops = module_operations(name)
    for operation in spec(name)["operations"]:
        parameters = inspect.signature(ops[operation["name"]]).parameters.values()
        needed = [
            p.name
            for p in parameters
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        assert operation["parameters"]["required"] == needed, operation["name"]


@pytest.mark.parametrize("name", ADAPTORS)
def test_camel_case_aliases_point_at_their_snake_case_operation(name):
    ops = module_operations(name)
    for alias, factory in ops.items():
        if re.search(r"[A-Z]", alias):
            snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), alias)
            assert ops.get(snake) is factory or ops.get(snake + "_") is factory, alias


@pytest.mark.parametrize("name", ADAPTORS)
def test_every_example_line_compiles(name):
    available = operations(name)
    for operation in spec(name)["operations"]:
        assert re.search(rf"\b{operation['name']}\(", operation["example"]), operation["name"]
        steps = compile_job(operation["example"], available).build()
        assert [step.name for step in steps] == [operation["example"].split("(")[0]]
