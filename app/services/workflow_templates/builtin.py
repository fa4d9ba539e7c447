"""Ferry's own templates, read from app/workflow_templates/<slug>/ (see its README)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parents[2] / "workflow_templates"


@dataclass(frozen=True)
class Setting:
    """A value asked on the "use template" form that replaces a placeholder in the job code."""

    key: str
    label: str
    help: str
    replaces: str


@dataclass(frozen=True)
class BuiltinTemplate:
    """One of Ferry's own templates as read from its folder."""

    slug: str
    title: str
    description: str
    setup: str
    order: int
    document: dict
    sample_input: dict | None
    settings: tuple[Setting, ...] = ()
    example: str | None = None
    schema_sql: str | None = None


@cache
def builtin_templates() -> tuple[BuiltinTemplate, ...]:
    """Every template folder, in page order (read once per process)."""
    found = [_read(folder) for folder in FOLDER.iterdir() if (folder / "template.yaml").exists()]
    return tuple(sorted(found, key=lambda t: (t.order, t.slug)))


def _read(folder: Path) -> BuiltinTemplate:
    meta = yaml.safe_load((folder / "template.yaml").read_text())
    sample = folder / "sample_input.json"
    schema = meta.get("schema")
    return BuiltinTemplate(
        slug=folder.name,
        title=meta["title"],
        description=meta["description"],
        setup=meta.get("setup", ""),
        order=int(meta.get("order", 100)),
        document=yaml.safe_load((folder / "workflow.yaml").read_text()),
        sample_input=json.loads(sample.read_text()) if sample.exists() else None,
        settings=tuple(Setting(**entry) for entry in meta.get("settings", [])),
        example=meta.get("example"),
        schema_sql=(folder / schema).read_text() if schema else None,
    )
