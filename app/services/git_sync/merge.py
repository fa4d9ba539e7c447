"""The three-way merge of project documents: what Ferry and git each changed since they last
agreed (`base`), combined when they touched different entries, a conflict where they changed
the same one differently.

Pure functions over plain dicts (the documents `export_project` writes, bodies inline), so
the merge is tested without git or a database. Paths are dotted like
`app.services.project_code.diff` writes them (`workflows.sync.jobs.fetch.body`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.services.project_code.diff import text_diff

_MISSING = object()


@dataclass(frozen=True)
class Clash:
    """One entry both sides changed differently: the value in Ferry, in git, and before."""

    path: str
    ours: object
    theirs: object
    base: object = None

    def line_diff(self) -> list[str]:
        """Git's text against Ferry's, line by line, when both are text (job bodies)."""
        if isinstance(self.ours, str) and isinstance(self.theirs, str):
            return text_diff(self.ours, self.theirs, self.path)
        return []

    def as_dict(self) -> dict:
        """JSON-ready, for storing the conflict until someone resolves it."""
        return {"path": self.path, "ours": _plain(self.ours), "theirs": _plain(self.theirs)}


@dataclass
class Merged:
    """The merged document and the clashes (the document is only usable with no clashes)."""

    document: dict
    clashes: list[Clash] = field(default_factory=list)


def merge(base: Mapping | None, ours: Mapping, theirs: Mapping) -> Merged:
    """Combine Ferry's and git's changes to `base`. Where only one side changed a value, that
    side wins; where both changed it to the same value, fine; else a Clash at its path."""
    clashes: list[Clash] = []
    document = _merge(base if base is not None else {}, ours, theirs, "", clashes)
    return Merged(document if isinstance(document, dict) else {}, clashes)


def _merge(base: object, ours: object, theirs: object, path: str, clashes: list[Clash]):
    if ours == theirs:
        return ours
    if base == ours:
        return theirs
    if base == theirs:
        return ours
    if isinstance(ours, Mapping) and isinstance(theirs, Mapping):
        before = base if isinstance(base, Mapping) else {}
        result = {}
        for key in _keys(ours, theirs, before):
            value = _merge(
                before.get(key, _MISSING),
                ours.get(key, _MISSING),
                theirs.get(key, _MISSING),
                f"{path}.{key}" if path else str(key),
                clashes,
            )
            if value is not _MISSING:
                result[key] = value
        return result
    clashes.append(Clash(path, _visible(ours), _visible(theirs), _visible(base)))
    return ours


def _keys(*mappings: Mapping) -> list:
    seen: dict = {}
    for mapping in mappings:
        seen.update(dict.fromkeys(mapping))
    return list(seen)


def _visible(value: object) -> object:
    return None if value is _MISSING else value


def _plain(value: object) -> object:
    return value if isinstance(value, str | int | float | bool | list | dict | None) else str(value)
