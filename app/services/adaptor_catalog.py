"""The adaptors Ferry offers, read from the specs in adaptor_specs/ (data, not code).

The web side validates adaptor references and builds forms from these specs without
importing the execution side.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from app.config import PROJECT_ROOT

SPEC_DIR = PROJECT_ROOT / "adaptor_specs"
_REF = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)(?:@(?P<version>[0-9][0-9A-Za-z.\-]*|latest))?$")


@cache
def _specs(spec_dir: Path = SPEC_DIR) -> dict[str, dict]:
    specs = {}
    for path in sorted(spec_dir.glob("*.json")):
        if path.name == "meta-schema.json":
            continue
        spec = json.loads(path.read_text())
        specs[spec["name"]] = spec
    return specs


def adaptor_names() -> list[str]:
    """Every adaptor name, alphabetically."""
    return sorted(_specs())


def spec(name: str) -> dict | None:
    """The spec of adaptor `name`, or None."""
    return _specs().get(name)


def check_ref(ref: str) -> str | None:
    """None when `ref` ("http@1", "dhis2", "fhir@latest") names a known adaptor, else why not."""
    match = _REF.match(ref.strip()) if isinstance(ref, str) else None
    if match is None:
        return f"{ref!r} is not an adaptor reference: write it as name@version, e.g. http@1."
    if match["name"] not in _specs():
        return f"unknown adaptor {match['name']!r}: choose one of {', '.join(adaptor_names())}."
    return None
