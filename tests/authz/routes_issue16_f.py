"""Matrix entries for git sync (issue 16, item 7): every member reads the Git sync tab and its
status card; admins and owners connect, test, pull, resolve and disconnect. The matrix's
project is not connected, so the buttons answer with a message and change nothing."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "git_sync.show": Rule("viewer"),
    "git_sync.status": Rule("viewer"),
    # An empty URL: refused with the field to fix (422), nothing stored.
    "git_sync.save": Rule("admin", data={"url": "", "branch": "main", "auth_kind": "none"}),
    "git_sync.test": Rule("admin", note="not connected: says so"),
    "git_sync.pull": Rule("admin", note="not connected: says so"),
    "git_sync.resolve": Rule("admin", data={"choice": "ours"}, note="not connected: says so"),
    "git_sync.disconnect": Rule("admin", note="not connected: says so"),
}
