"""Every kind of run error reads as a plain sentence with what to check, and its technical
text (type, message, line) is still there, unchanged."""
# ruff: noqa: E501 - the table of cases reads best one code per line

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app.services.runs.plain_errors import explain, known_codes
from app.services.runs.plain_messages import CHECKS
from workers.runtime.errors import CODES

ROOT = Path(__file__).resolve().parents[3]

# code -> (details, words the sentence must contain)
CASES: dict[str, tuple[dict, str]] = {
    "connection_refused": ({"host": "127.0.0.1", "port": 5999}, "Could not reach 127.0.0.1:5999: nothing answered."),
    "connection_timeout": ({"host": "h.org", "port": 443, "seconds": 30.0}, "no answer within 30 s"),
    "request_timeout": ({"host": "h.org", "method": "GET", "url": "https://h.org/x", "seconds": 5}, "did not answer GET https://h.org/x within 5 s"),
    "dns_failed": ({"host": "registy.lan"}, "Could not find the host “registy.lan”"),
    "tls_failed": ({"host": "h.org", "port": 443}, "secure (https) connection to h.org"),
    "connection_failed": ({"host": "h.org", "port": 80}, "The connection to h.org:80 failed"),
    "egress_blocked": ({"address": "10.0.0.5:80", "reason": "a private address"}, "may not connect to 10.0.0.5:80"),
    "http_error": ({"host": "h.org", "status": 404, "reason": "Not Found", "method": "GET", "url": "https://h.org/p/1"}, "h.org answered 404 Not Found to GET https://h.org/p/1."),
    "http_bad_response": ({"method": "GET", "url": "https://h.org/x"}, "not the data (JSON) that was expected"),
    "too_many_redirects": ({"method": "GET", "url": "https://h.org/x"}, "redirected) too many times"),
    "redirect_refused": ({"method": "GET", "url": "https://h.org/x"}, "did not follow"),
    "database_unreachable": ({"host": "db", "port": 5432}, "Could not connect to the database at db:5432."),
    "database_error": ({"sqlstate": "23505", "said": "duplicate key"}, "The database refused the statement: duplicate key"),
    "missing_key": ({"key": "records", "where": "S.data", "available": ["patients", "source"]}, "The input has no `records`. It has: `patients`, `source`."),
    "missing_index": ({"path": "S.data.items", "index": 3, "size": 2}, "The list `data.items` has no item 3: it has 2."),
    "not_an_object": ({"path": "S.data.patients", "key": "name", "got": "list"}, "`data.patients` is a list, so it has no `name`."),
    "wrong_type": ({"operation": "each", "expected": "a list or a JSONPath string", "got": "dict"}, "The each operation needs a list or a JSONPath string, but got an object."),
    "bad_argument": ({}, "An operation was given something it cannot use: timeout must be"),
    "validation_failed": ({"count": 2, "first": "data.age: 'x' is not of type 'integer'"}, "does not match the schema (2 problem(s))"),
    "assertion_failed": ({"said": "Patient has no NHI"}, "A check in the job failed: Patient has no NHI"),
    "returned_none": ({"operation": "fn"}, "returned nothing instead of the state"),
    "returned_not_state": ({"got": "list"}, "returned a list instead of the state"),
    "state_not_json": ({}, "cannot be saved"),
    "input_not_object": ({"got": "list"}, "not a JSON object (it is a list)"),
    "credential_missing_field": ({"field": "api_key", "credential": "CommCare"}, "The CommCare credential has no “api_key”."),
    "credential_unavailable": ({}, "The step's credential cannot be used"),
    "syntax_error": ({"line": 3, "problem": "'(' was never closed"}, "mistake on line 3: '(' was never closed."),
    "code_not_allowed": ({}, "uses something Ferry jobs may not use"),
    "compile_error": ({}, "could not be set up"),
    "unknown_adaptor": ({"adaptor": "nope@1"}, "an adaptor Ferry does not have (nope@1)"),
    "import_blocked": ({"module": "os"}, "imports “os”"),
    "sandbox_refused": ({}, "does not allow in a step"),
    "job_error": ({"exception": "ZeroDivisionError"}, "The step's code stopped with an error"),
    "job_exit": ({}, "tried to stop its own process"),
    "time_limit": ({"seconds": 300.0}, "took longer than 300 s"),
    "run_time_limit": ({"seconds": 60, "maximum": 3600}, "took longer than its time limit of 60 s"),
    "cpu_limit": ({"seconds": 60}, "more than 60 s of computing time"),
    "memory_limit": ({"mb": 512}, "more than 512 MB of memory"),
    "output_limit": ({"size": "12.0 MB", "limit": "10.0 MB"}, "too large to keep (12.0 MB; the limit is 10.0 MB)"),
    "log_limit": ({"limit": "11.0 MB"}, "more than 11.0 MB of logs"),
    "process_died": ({"signal": "SIGKILL"}, "stopped unexpectedly (signal SIGKILL)"),
    "sandbox_failed": ({}, "its sandbox failed"),
    "runtime_error": ({}, "Ferry's runtime failed"),
    "input_unavailable": ({}, "The run's input could not be read."),
    "worker_stopped": ({}, "was stopped before the run finished"),
    "run_lost": ({}, "stopped reporting"),
    "ferry_error": ({}, "Ferry itself failed"),
}  # fmt: skip
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
MESSAGE = "Operation 'post' on line 2 failed: timeout must be a number of seconds above 0"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_reads_as_a_plain_sentence_and_keeps_the_technical_detail(code):
    details, words = CASES[code]
    error = {"type": "JobError", "message": MESSAGE, "line": 2, "code": code, "details": details}
    plain = explain(error, "Send patients")
    assert plain.code == code
    assert plain.sentence.startswith("Step “Send patients”: ")
    assert words in plain.sentence, plain.sentence
    assert plain.check and not PLACEHOLDER.search(plain.check + plain.sentence)
    assert plain.technical == f"JobError: {MESSAGE}"  # the line is already in the message
    assert (plain.type, plain.message, plain.line) == ("JobError", MESSAGE, 2)


def test_every_code_the_runtime_can_emit_has_a_sentence_and_a_check():
    assert set(CODES) <= known_codes()
    assert all(code in CHECKS for code in CODES)
    assert set(CASES) == set(CODES)


def _codes_written_in(tree: ast.AST) -> set[str]:
    """String constants in the places a code is written: `code=` arguments, `code = ...`
    assignments, the code argument of the error helpers, and the sandbox's problem tuples."""
    found: set[str] = set()

    def constants(node: ast.AST | None) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        elif isinstance(node, ast.IfExp):
            constants(node.body)
            constants(node.orelse)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "code":
                    constants(keyword.value)
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in HELPERS:
                for arg in node.args[HELPERS[name] : HELPERS[name] + 1]:
                    constants(arg)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(t, "id", None) == "code" for t in targets):
                constants(node.value)
        elif isinstance(node, ast.Tuple) and len(node.elts) == 4:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and first.value in ("killed", "exception"):
                constants(node.elts[2])
    return found


# helper name -> position of its code argument
HELPERS = {
    "_error": 2,
    "error_dict": 2,
    "tag": 1,
    "coded": 0,
    "StateKeyError": 1,
    "_send_result": 3,
}


def test_every_code_written_in_the_runtime_and_adaptors_is_listed():
    """Codes are plain strings by convention: one typed in workers/ but missing from CODES
    would have no sentence."""
    written: set[str] = set()
    for path in (ROOT / "workers").rglob("*.py"):
        written |= _codes_written_in(ast.parse(path.read_text()))
    assert {"missing_key", "wrong_type", "time_limit", "connection_refused", "job_exit"} <= written
    assert written - set(CODES) - {""} == set()  # postgresql: `code = ""` is a SQLSTATE text


def test_the_record_number_inside_each_is_named():
    error = {"type": "JobError", "message": "x", "code": "connection_refused",
             "details": {"host": "10.1.1.1", "port": 80, "record": 3}}  # fmt: skip
    assert explain(error, "Send").sentence == (
        "Step “Send”, record 3: Could not reach 10.1.1.1:80: nothing answered."
    )
    assert explain(error).sentence.startswith("Record 3: Could not reach")


def test_http_errors_say_what_to_check_by_status():
    def check(status):
        details = {"host": "h", "status": status, "reason": "", "method": "GET", "url": "u"}
        return explain(
            {"type": "JobError", "message": "m", "code": "http_error", "details": details}
        ).check

    assert "credential" in check(401)
    assert "rights" in check(403)
    assert "address" in check(404)
    assert "problem of its own" in check(503)
    assert "Compare" in check(422)


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (
            {"type": "JobError", "message": "Operation 'each' on line 1 failed: POST "
             "http://127.0.0.1:5999/patients failed: [Errno 111] Connection refused"},
            "Could not reach 127.0.0.1:5999: nothing answered.",
        ),
        (
            {"type": "JobError", "message": "Operation 'fn' on line 1 failed: StateKeyError: "
             "S.data.records: no key 'records' in state.data (keys: patients, source)"},
            "The input has no `records`. It has: `patients`, `source`.",
        ),
        (
            {"type": "JobCompileError", "message": "Line 1: TypeError in each(...): each needs "
             "a list or a JSONPath string as its first argument"},
            "The each operation needs a list (or a JSONPath string) to go through.",
        ),
        ({"type": "LostRun", "message": "The worker stopped reporting for more than 60 s."},
         "The worker running this run stopped reporting, so the run was given up."),
    ],
)  # fmt: skip
def test_errors_stored_before_codes_still_read_plainly(error, sentence):
    plain = explain(error)
    assert plain.sentence == sentence
    assert plain.technical == f"{error['type']}: {error['message']}"


def test_an_unknown_code_falls_back_to_a_generic_sentence_with_the_technical_text():
    error = {"type": "Oops", "message": "Line 4: something odd\nmore", "code": "from_the_future"}
    plain = explain(error, "Load")
    assert plain.code == "unknown"
    assert plain.sentence == "Step “Load” did not finish: something odd"
    assert plain.technical == "Oops: Line 4: something odd\nmore"
    assert explain(None).sentence == "The step did not finish: no message was recorded."


@pytest.mark.parametrize("details", [{"host": "h"}, {}, {"port": None}, "not a dict"])
def test_missing_or_odd_details_fall_back_to_a_sentence_without_them(details):
    error = {"type": "JobError", "message": "m", "code": "connection_refused", "details": details}
    assert explain(error).sentence == "Could not reach the other system: nothing answered."
