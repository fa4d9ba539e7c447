"""The import guard tells a library's imports from job code's, however the library imports.

A library may import its own modules through an `exec`'d string (PLY, inside jsonpath-ng),
`importlib.import_module`, or an import inside a function; code without a file of its own
counts as whoever runs it. Job code may import only the allowlist, and no door it can reach
imports a module it names (`importlib` included, even if a reference to it leaked).

Most checks call functions of this file in a child hardened like a step child
(`run_guarded`), where this file counts as job code, as if the compiler had let them by.
"""

from __future__ import annotations

import builtins
import importlib
import pkgutil
import pydoc
import xml.dom

import pytest
from jsonpath_ng.ext import parse as parse_jsonpath

from tests.workers.sandbox.test_egress import run_guarded
from workers.runtime import trust
from workers.runtime.compiler_builtins import job_builtins
from workers.runtime.compiler_checks import ALLOWED_IMPORTS, JOB_FILENAME
from workers.runtime.protocol import StepRequest
from workers.runtime.sandbox import Sandbox

# ruff: noqa: S102 - a function compiled from a string, as libraries generate code
# Code without a file, made before hardening the way dataclasses or attrs generate methods.
GENERATED: dict = {}
exec(compile("def import_named(name):\n    return __import__(name)\n", "<string>", "exec"),
     GENERATED)  # fmt: skip


def _jsonpath_from_job_code():
    # PLY loads jsonpath-ng's parser tables with exec("import jsonpath_ng._ply_tables...").
    return [match.value for match in parse_jsonpath("$.data.items[*]").find(DOCUMENT)]


DOCUMENT = {"data": {"items": [1, 2]}}
LIBRARY_IMPORTS = {
    "PLY's exec('import ...') in jsonpath-ng": (_jsonpath_from_job_code, "[1, 2]"),
    "an import inside a library function": (lambda: "ferry".encode("cp037").hex(), "86859999a8"),
    "a library's __import__ of its own module": (
        lambda: xml.dom.getDOMImplementation().createDocument(None, "a", None).toxml(),
        '<?xml version="1.0" ?><a/>',
    ),
    "a library's importlib.import_module": (
        lambda: pkgutil.resolve_name("xml.dom.minicompat:NodeList").__name__,
        "NodeList",
    ),
}


@pytest.mark.parametrize("name", sorted(LIBRARY_IMPORTS))
def test_a_library_called_by_job_code_imports_its_own_modules(name):
    attempt, expected = LIBRARY_IMPORTS[name]
    assert run_guarded(attempt) == expected


JOB_IMPORTS = {
    "importlib.import_module": (lambda: importlib.import_module("os"), "importing 'os'"),
    "importlib.__import__": (lambda: importlib.__import__("os"), "importing 'os'"),
    "builtins.__import__": (lambda: builtins.__import__("subprocess"), "importing 'subprocess'"),
    "import importlib": (lambda: __import__("importlib"), "importing 'importlib'"),
    "relative importlib.import_module": (
        lambda: importlib.import_module(".path", "os"),
        "importing '.path'",
    ),
    "exec of an import": (lambda: exec("import os"), "introspection (compile)"),
    "file-less code the job runs": (lambda: GENERATED["import_named"]("os"), "importing 'os'"),
    "an allowed module through importlib is a view": (
        lambda: importlib.import_module("json").decoder,
        "has no attribute 'decoder'",
    ),
}


@pytest.mark.parametrize("name", sorted(JOB_IMPORTS))
def test_job_code_cannot_import_past_the_allowlist(name):
    attempt, phrase = JOB_IMPORTS[name]
    outcome = run_guarded(attempt)
    assert phrase in outcome, outcome
    assert outcome.split(":")[0] in ("ImportError", "PermissionError", "AttributeError")


def _importers() -> list[object]:
    return [builtins.__import__, importlib.import_module, importlib.__import__,
            importlib.reload, pkgutil.resolve_name, pydoc.locate, exec, eval, compile]  # fmt: skip


def _reachable_importers() -> list[str]:
    """Import every allowed module as job code does and name any importer it hands out."""
    importers = _importers() + IMPORTERS_BEFORE_HARDENING
    found = []
    for name in sorted(ALLOWED_IMPORTS):
        view = __import__(name)
        for part in name.split(".")[1:]:
            view = getattr(view, part)
        for attr in dir(view):
            if not attr.startswith("_") and any(getattr(view, attr) is i for i in importers):
                found.append(f"{name}.{attr}")
    found += [key for key, value in job_builtins().items() if key != "__import__" and any(
        value is importer for importer in importers)]  # fmt: skip
    return found


IMPORTERS_BEFORE_HARDENING = _importers()


def test_no_allowed_module_or_job_builtin_hands_out_an_importer():
    # A trusted library imports whatever it is asked to, so job code must reach none that
    # takes a module name from it: the allowed modules' views and the job's builtins.
    assert run_guarded(_reachable_importers) == "[]"


def test_code_without_a_file_counts_as_whoever_runs_it():
    assert trust.has_no_file("<string>") and trust.has_no_file("<attrs generated init x.Y>")
    assert not trust.has_no_file(JOB_FILENAME) and not trust.has_no_file("<frozen os>")
    assert trust.runs_job_code(None)


@pytest.fixture(scope="module")
def sandbox():
    """A warm sandbox for the compiled jobs below."""
    with Sandbox(adaptors=["common"]) as box:
        yield box


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # The encodings package imports the codec's module when it is first used.
        ('fn(lambda state: {**state, "data": "ferry".encode("cp037").hex()})', "86859999a8"),
        # namedtuple builds its class with exec; the generated methods then run for the job.
        (
            'import collections\nPoint = collections.namedtuple("Point", "x y")\n'
            'fn(lambda state: {**state, "data": str(Point(1, y=2))})',
            "Point(x=1, y=2)",
        ),
        (
            'fn(lambda state: {**state, "data": [1, 2]})\nmap("$.data[*]", lambda n: n * 10)',
            [10, 20],
        ),
    ],
    ids=["lazy codec import", "namedtuple", "jsonpath"],
)
def test_compiled_jobs_use_libraries_that_import_lazily(sandbox, body, expected):
    result = sandbox.run(StepRequest(body=body, adaptor="common", state={"data": "x"}))
    assert result.status == "success", result.error
    assert result.state["data"] == expected


def test_the_shared_scrubber_is_trusted_code_but_the_rest_of_app_is_not():
    """The sandbox imports `app.scrub`; its frames are Ferry's, not the job's."""
    import app.scrub
    from workers.runtime import trust

    assert trust.is_trusted_code(app.scrub.__file__)
    assert not trust.is_trusted_code(app.scrub.__file__.replace("scrub.py", "factory.py"))
