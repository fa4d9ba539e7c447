"""Job code trying to get out: each attempt is refused with a clear error, and neither the
test process nor the sandbox server is harmed (the next trivial step still succeeds on the
same server)."""

from __future__ import annotations

import builtins
import ctypes
import io
import os
import signal
import socket
import subprocess

import pytest

from tests.workers.sandbox.test_egress import run_guarded
from workers.runtime.protocol import StepRequest, StepResult
from workers.runtime.sandbox import Sandbox

TRIVIAL = "fn(lambda state: state)"
# Either the compiler refuses the code (crashed) or a runtime layer refuses the act (failed).
REFUSED = ("crashed", "failed")


@pytest.fixture(scope="module")
def sandbox():
    """One sandbox for the whole suite, so harm to its server would show in later tests."""
    with Sandbox() as box:
        yield box


def attempt(sandbox: Sandbox, body: str, **limits) -> StepResult:
    """Run `body`, then prove the server survived it unchanged."""
    server = sandbox.server_pid
    result = sandbox.run(StepRequest(body=body, adaptor="common", state={"data": 1}, **limits))
    after = sandbox.run(StepRequest(body=TRIVIAL, adaptor="common", state={"data": 2}))
    assert after.status == "success" and after.state["data"] == 2
    assert sandbox.server_pid == server
    return result


def refused(result: StepResult, *phrases: str) -> None:
    assert result.status in REFUSED, (result.status, result.state)
    message = result.error["message"]
    assert message
    for phrase in phrases:
        assert phrase in message, message


BLOCKED_IMPORTS = [
    "os",
    "subprocess",
    "socket",
    "ctypes",
    "sys",
    "importlib",
    "builtins",
    "signal",
    "multiprocessing",
    "pickle",
    "gc",
    "inspect",
    "urllib.request",
]


@pytest.mark.parametrize("module", BLOCKED_IMPORTS)
def test_importing_a_module_off_the_allowlist_is_refused(sandbox, module):
    refused(attempt(sandbox, f"import {module}\n{TRIVIAL}"), module)


def test_from_import_of_a_blocked_submodule_is_refused(sandbox):
    refused(attempt(sandbox, f"from urllib import request\n{TRIVIAL}"))


def test_modules_reached_through_allowed_modules_are_not_there(sandbox):
    # uuid, statistics and datetime import sys and os themselves; job code gets views of
    # allowed modules without those.
    for path in ("uuid.os.environ", "uuid.sys.modules", "statistics.sys", "json.decoder"):
        module = path.split(".")[0]
        body = f"import {module}\nfn(lambda state: {{'x': str({path})}})"
        refused(attempt(sandbox, body), "has no attribute")


def test_open_is_refused(sandbox):
    refused(attempt(sandbox, "fn(lambda state: {'x': open('/etc/passwd').read()})"))


def test_reading_files_through_io_open_is_refused_by_the_audit_hook(sandbox):
    body = "import io\nfn(lambda state: {'x': io.open('/etc/passwd').read()})"
    refused(attempt(sandbox, body), "Ferry sandbox: opening '/etc/passwd' is not allowed")


def test_writing_files_is_refused(sandbox):
    body = "import io\nfn(lambda state: io.open('/tmp/ferry-escape', 'w').write('x') and state)"
    refused(attempt(sandbox, body), "writing to '/tmp/ferry-escape'")


def test_fileio_and_file_descriptors_are_refused(sandbox):
    refused(attempt(sandbox, "import io\nfn(lambda state: io.FileIO('/etc/shadow') and state)"),
            "opening '/etc/shadow'")  # fmt: skip
    # fd 1 is the child's stdout: writing to it must not reach, or corrupt, the protocol.
    refused(attempt(sandbox, "import io\nfn(lambda state: io.open(1, 'w').write('!') and state)"),
            "file descriptor")  # fmt: skip


def test_class_subclasses_walk_is_refused(sandbox):
    body = "fn(lambda state: {'x': str(().__class__.__base__.__subclasses__())})"
    refused(attempt(sandbox, body))


def test_getattr_with_dunder_strings_is_refused(sandbox):
    refused(attempt(sandbox, "fn(lambda state: {'x': str(getattr((), '__class__'))})"))
    dynamic = "fn(lambda state: {'x': str(getattr((), '_' + '_class_' + '_'))})"
    refused(attempt(sandbox, dynamic))


def test_vars_of_a_class_is_refused(sandbox):
    body = "fn(lambda state: {'x': str(vars(type)['_' + '_subclasses__'](object))})"
    refused(attempt(sandbox, body))


def test_builtins_tampering_is_refused(sandbox):
    refused(attempt(sandbox, "__builtins__['open'] = None\nfn(lambda state: state)"))
    dynamic = (
        "fn(lambda state: {'x': str(globals()['__buil' + 'tins__']['__imp' + 'ort__']('os'))})"
    )
    refused(attempt(sandbox, dynamic))
    swap = (
        "def swap(state):\n"
        "    globals()['__buil' + 'tins__']['any'] = lambda items: False\n"
        "    return {'x': str(io.open('/tmp/ferry-escape', 'w'))}\n"
        "import io\nfn(swap)"
    )
    refused(attempt(sandbox, swap))


def test_compile_eval_and_exec_are_refused(sandbox):
    for call in ("eval('1 + 1')", "exec('x = 1')", "compile('1', 'x', 'eval')"):
        refused(attempt(sandbox, f"fn(lambda state: {{'x': str({call})}})"))


def test_frames_and_code_objects_are_out_of_reach(sandbox):
    generator = "def numbers():\n    yield 1\n"
    for reach in ("numbers().gi_frame", "numbers().gi_code", "(lambda: None).__code__"):
        body = f"{generator}fn(lambda state: {{'x': str({reach})}})"
        refused(attempt(sandbox, body))


def test_metaclass_and_type_tricks_are_refused(sandbox):
    body = (
        "def numbers():\n    yield 1\nfn(lambda state: {'x': str(type(numbers().gi_frame.f_back))})"
    )
    refused(attempt(sandbox, body))
    patch = "import json\nfn(lambda state: setattr(json.JSONEncoder, 'default', print) or state)"
    refused(attempt(sandbox, patch))


def test_format_string_attribute_walks_are_refused(sandbox):
    refused(attempt(sandbox, "fn(lambda state: {'x': '{0.__class__}'.format(1)})"))
    body = "import string\nfn(lambda state: {'x': string.Formatter().format('{0.__class__}', 1)})"
    refused(attempt(sandbox, body))


def test_a_class_overriding_getattr_cannot_reach_dunders(sandbox):
    body = (
        "class Sneaky:\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(object, '_' + '_subclasses__')\n"
        "fn(lambda state: {'x': str(Sneaky().anything())})"
    )
    refused(attempt(sandbox, body))


def test_fork_bomb_is_refused(sandbox):
    body = "import os\ndef bomb(state):\n    while True:\n        os.fork()\nfn(bomb)"
    refused(attempt(sandbox, body))


def test_exit_and_killing_the_parent_are_refused(sandbox):
    refused(attempt(sandbox, "import os\nfn(lambda state: os._exit(3))"))
    refused(attempt(sandbox, "import os\nfn(lambda state: os.kill(os.getppid(), 9))"))
    refused(attempt(sandbox, "fn(lambda state: exit(3))"))


def test_memory_bomb_is_killed_with_a_memory_message(sandbox):
    result = attempt(sandbox, "fn(lambda state: {'x': 'x' * 10**10})", memory_mb=256)
    assert result.status == "killed"
    assert "more than 256 MB of memory" in result.error["message"]


def test_growing_list_is_killed_with_a_memory_message(sandbox):
    body = (
        "def grow(state):\n    hoard = []\n    while True:\n        hoard.append('y' * 1000)\n"
        "fn(grow)"
    )
    result = attempt(sandbox, body, memory_mb=128)
    assert result.status == "killed"
    assert "more than 128 MB of memory" in result.error["message"]


def test_infinite_loop_is_killed_by_the_timeout(sandbox):
    result = attempt(sandbox, "def spin(state):\n    while True:\n        pass\nfn(spin)",
                     timeout_s=1)  # fmt: skip
    assert result.status == "killed"
    assert "longer than 1 s" in result.error["message"]


def test_huge_output_is_killed_with_its_size(sandbox):
    result = attempt(sandbox, "fn(lambda state: {'data': 'z' * 50_000_000})")
    assert result.status == "killed"
    assert "the step's output state is 47.7 MB, above the 10 MB limit" in result.error["message"]


def test_log_flood_is_capped(sandbox):
    body = (
        "def flood(state):\n    for n in range(200_000):\n        print('z' * 50)\n"
        "    return state\nfn(flood)"
    )
    result = attempt(sandbox, body, max_log_bytes=100_000)
    assert result.status == "success"
    assert len(result.logs) == 2001  # 2000 lines of 50 bytes, then the note
    assert "were dropped: a step may log at most 97.7 KB." in result.logs[-1].message


def test_recursion_bomb_fails_cleanly(sandbox):
    body = "def down(n):\n    return down(n + 1)\nfn(lambda state: down(0))"
    result = attempt(sandbox, body)
    assert result.status == "failed"
    assert "recursion" in result.error["message"].lower()


def test_reading_input_is_refused_and_breakpoint_starts_no_debugger(sandbox):
    refused(attempt(sandbox, "fn(lambda state: {'x': input()})"))
    # breakpoint() needs pdb, which job code may not import: it does nothing at all.
    result = attempt(sandbox, "fn(lambda state: breakpoint() or state)", timeout_s=5)
    assert result.status in ("success", *REFUSED)
    assert "unimportable" in " ".join(line.message for line in result.logs) or (
        result.status in REFUSED
    )


# The same attempts without the compiler's static checks, as if something slipped past it:
# these functions run in a forked child hardened like a step child, where this test file
# counts as job code (it is not in the stdlib, site-packages or Ferry's package).
# ruff: noqa: SIM115, UP020, B009, S307, S605


def _numbers():
    yield 1


def _import_os():
    import os as job_os

    return job_os.environ


def _uuid_sys():
    import uuid as job_uuid  # through the guard: a view of the module, without `sys`

    return job_uuid.sys


def _swap_builtins_then_write():
    # `builtins` was imported before hardening: a leaked reference to the real module.
    builtins.__dict__["any"] = lambda items: False
    return io.open("/tmp/ferry-escape", "w")


def _unix_socket():
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect("/var/run/postgresql/.s.PGSQL.5432")


UNCOMPILED_ATTEMPTS = {
    "import os": (_import_os, "importing 'os' is not allowed"),
    "sys through uuid": (_uuid_sys, "has no attribute 'sys'"),
    "open /etc/passwd": (lambda: open("/etc/passwd"), "opening '/etc/passwd'"),
    "write a file": (lambda: io.open("/tmp/ferry-escape", "w"), "writing to '/tmp/ferry-escape'"),
    "open fd 1": (lambda: io.open(1, "w"), "file descriptor"),
    "frame of a generator": (lambda: _numbers().gi_frame, "object.__getattr__ 'gi_frame'"),
    "code of a function": (lambda: _numbers.__code__, "object.__getattr__ '__code__'"),
    "getattr with a dunder": (lambda: getattr((), "__class__"), "attribute '__class__'"),
    "vars of a class": (lambda: vars(type), "vars() of an object"),
    "eval": (lambda: eval("1 + 1"), "introspection (compile)"),
    "fork": (lambda: os.fork(), "'os.fork'"),
    "os.system": (lambda: os.system("true"), "'os.system'"),
    "subprocess": (lambda: subprocess.run(["true"], check=False), "'subprocess.Popen'"),
    "ctypes": (lambda: ctypes.CDLL(None), "'ctypes.dlopen'"),
    "kill the parent": (lambda: os.kill(os.getppid(), signal.SIGKILL), "sending signals"),
    "unix socket to PostgreSQL": (_unix_socket, "local (unix) or raw socket"),
    "raw socket": (lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW), "raw or unusual"),
    "swap builtins": (_swap_builtins_then_write, "after changing Python's builtins"),
}


@pytest.mark.parametrize("name", sorted(UNCOMPILED_ATTEMPTS))
def test_runtime_layers_hold_without_the_compiler(name):
    attempt_, phrase = UNCOMPILED_ATTEMPTS[name]
    outcome = run_guarded(attempt_)
    assert phrase in outcome, outcome
    assert outcome.split(":")[0] in ("PermissionError", "ImportError", "AttributeError")
