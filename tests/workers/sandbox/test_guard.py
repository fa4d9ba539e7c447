"""The audit hook's copy of the builtins, taken once by the sandbox server: files still open
with it, and a changed builtin still closes them."""

from __future__ import annotations

import builtins

from tests.workers.sandbox.forked_child import in_child
from workers.runtime import guard
from workers.runtime.import_guard import GUARDED_BUILTINS, install_import_guard

ALLOWED_FILE = guard.__file__  # Ferry's own code: a step may read it


def hardened_like_a_server_child() -> None:
    guard.snapshot_builtins()  # the server does this once, before forking
    guard.harden(cpu_seconds=20, memory_mb=512, egress_allow=[])


def _open_allowed_file() -> str:
    hardened_like_a_server_child()
    with open(ALLOWED_FILE) as file:
        return file.readline().strip()[:3]


def _change_a_builtin_then_open() -> str:
    hardened_like_a_server_child()
    builtins.__dict__["any"] = lambda items: False
    with open(ALLOWED_FILE) as file:
        return file.readline()


def _replaced_by_the_import_guard() -> str:
    live = builtins.__dict__
    before = dict(live)
    install_import_guard()
    return ",".join(sorted(name for name in live if live[name] is not before.get(name)))


def test_with_the_servers_copy_of_the_builtins_a_step_still_reads_files():
    assert in_child(_open_allowed_file) == '"""'


def test_with_the_servers_copy_a_changed_builtin_still_closes_files():
    outcome = in_child(_change_a_builtin_then_open)
    assert outcome.startswith("PermissionError") and "after changing Python's builtins" in outcome


def test_the_hook_is_told_of_exactly_the_builtins_the_import_guard_replaces():
    assert in_child(_replaced_by_the_import_guard) == ",".join(sorted(GUARDED_BUILTINS))
