"""Adaptors: one module of operations per kind of system, with a JSON spec in adaptor_specs/.

Each adaptor module exports `OPERATIONS: dict[str, Callable]` (snake_case names and their
camelCase aliases). A job sees the common operations, the `collections.*` family
(`collections_ops`) and its adaptor's.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parents[2] / "adaptor_specs"
ADAPTORS = ("common", "http", "dhis2", "commcare", "fhir", "postgresql")
_REF = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)(?:@(?P<version>[0-9][0-9A-Za-z.\-]*|latest))?$")


class UnknownAdaptor(ValueError):
    """The adaptor reference names no adaptor Ferry has."""


def parse_ref(ref: str) -> tuple[str, str]:
    """Split "http@1" into ("http", "1"); a bare name means "latest"."""
    match = _REF.match(ref.strip())
    if match is None or match["name"] not in ADAPTORS:
        known = ", ".join(ADAPTORS)
        raise UnknownAdaptor(f"Unknown adaptor {ref!r}: choose one of {known}.")
    return match["name"], match["version"] or "latest"


@cache
def operations(ref: str) -> dict[str, Callable]:
    """The operations a job using adaptor `ref` may call: common ones plus the adaptor's."""
    name, _version = parse_ref(ref)
    from workers.adaptors import collections_ops, common

    available = dict(common.OPERATIONS)
    available.update(collections_ops.OPERATIONS)  # `collections.get(...)` in every job
    if name != "common":
        available.update(importlib.import_module(f"workers.adaptors.{name}").OPERATIONS)
    return available


@cache
def spec(name: str) -> dict:
    """The adaptor's JSON spec from adaptor_specs/<name>.json."""
    parse_ref(name)
    return json.loads((SPEC_DIR / f"{name}.json").read_text())


def preload() -> None:
    """Import every adaptor and load the TLS context, so a forked child pays neither."""
    from workers.adaptors import http_client

    for name in ADAPTORS:
        operations(name)
    http_client.warm_up()
