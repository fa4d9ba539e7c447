"""A pulled project on disk: `project.yaml` (bodies as `{path: jobs/<workflow>/<job>.py}`),
the job files, and `.ferry/state.json`: the endpoint and project it came from, each workflow's
id and lock version, and a digest of every file as pulled (or last deployed), which tells the
changes a person made since from the ones the server made."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from app.services.errors import Invalid
from app.services.parsing import load_yaml
from workers.project_code.failure import LOCAL, Failure

PROJECT_FILE = "project.yaml"
STATE_FILE = ".ferry/state.json"
GRAPH_SECTIONS = ("triggers", "jobs", "edges")


@dataclass
class State:
    """What `.ferry/state.json` holds."""

    endpoint: str
    project_id: str
    workflows: dict[str, dict] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The state as written to the file."""
        return {
            "endpoint": self.endpoint,
            "project_id": self.project_id,
            "workflows": self.workflows,
            "files": self.files,
        }


@dataclass
class Local:
    """The project as the directory holds it: the document with bodies read in, the text of
    project.yaml, and which file each body came from (keyed by the body's document path)."""

    document: dict
    text: str
    body_files: dict[str, str]
    digests: dict[str, str]


def read_state(directory: Path) -> State | None:
    """The state file, or None when the directory was never pulled into."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = State(
            endpoint=str(data["endpoint"]),
            project_id=str(data["project_id"]),
            workflows=dict(data.get("workflows") or {}),
            files=dict(data.get("files") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Failure(
            f"{path} is damaged ({type(error).__name__}: {error}); pull the project again "
            "into a fresh directory."
        ) from None
    return state


def write_state(directory: Path, state: State) -> None:
    """Write the state file (atomically: a crash never leaves half of it)."""
    _write(directory / STATE_FILE, json.dumps(state.as_dict(), indent=2, sort_keys=True) + "\n")


def digest(path: Path) -> str | None:
    """A file's SHA-256, or None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def local_changes(directory: Path, state: State) -> list[str]:
    """The files changed or removed since the last pull or deploy (relative paths)."""
    return sorted(name for name, known in state.files.items() if digest(directory / name) != known)


def files_digests(directory: Path, names) -> dict[str, str]:
    """{relative path: digest} of the files that exist among `names`."""
    found = {name: digest(directory / name) for name in names}
    return {name: value for name, value in found.items() if value is not None}


def strip_ids(document: dict) -> dict:
    """A copy of an export made with ids, without them (what a plain export writes)."""
    plain = {key: value for key, value in document.items() if key != "id"}
    workflows = {}
    for key, workflow in (document.get("workflows") or {}).items():
        entry = {k: v for k, v in workflow.items() if k not in ("id", "lock_version")}
        for section in GRAPH_SECTIONS:
            if isinstance(entry.get(section), dict):
                entry[section] = {
                    name: {k: v for k, v in item.items() if k != "id"}
                    for name, item in entry[section].items()
                }
        workflows[key] = entry
    plain["workflows"] = workflows
    return plain


def write_project(directory: Path, document: dict, stale: list[str]) -> dict[str, str]:
    """Write a plain project document as project.yaml plus one file per job body; remove
    `stale` files (pulled before, gone now). Returns the digests of the written files."""
    project_document = _document()
    split, files = project_document.split_bodies(document)
    files = {PROJECT_FILE: project_document.to_yaml(split), **files}
    targets = {name: inside(directory, name) for name in files}
    for name, text in files.items():
        _write(targets[name], text)
    for name in stale:
        if name not in files:
            _remove(directory, name)
    return files_digests(directory, files)


def read_project(directory: Path) -> Local:
    """The directory's project.yaml with job files read in; a Failure names the line of a
    malformed project.yaml and the path of every body file that cannot be read."""
    path = directory / PROJECT_FILE
    try:
        digests = files_digests(directory, [PROJECT_FILE])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Failure(
            f"There is no {path}: run `ferry pull PROJECT {directory}` first, or give the "
            "directory that holds project.yaml."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(f"{path} cannot be read: {error}.") from None
    try:
        document = load_yaml(text, field=PROJECT_FILE, what=str(path))
    except Invalid as error:
        raise Failure(error.message) from None
    if not isinstance(document, dict):
        raise Failure(f"{path} must hold a mapping (name:, workflows:, ...), not a list or text.")
    body_files = {}
    for workflow_key, workflow in _mappings(document.get("workflows")):
        for job_key, job in _mappings(workflow.get("jobs")):
            body = job.get("body")
            if isinstance(body, dict) and isinstance(body.get("path"), str):
                body_files[f"workflows.{workflow_key}.jobs.{job_key}.body"] = body["path"]
    found: list = []
    project_document = _document()
    inlined = project_document.inline_bodies(
        document, project_document.directory_reader(directory), found
    )
    if found:
        raise Failure(
            f"{len(found)} job {'body' if len(found) == 1 else 'bodies'} in {path} "
            "cannot be read; nothing was sent:",
            LOCAL,
            [
                f"{PROJECT_FILE}:{line_of(text, p.path) or '?'}: {p.path}: {p.message}"
                for p in found
            ],
        )
    # Only now: every body path is known to be safe to read.
    digests |= files_digests(directory, body_files.values())
    return Local(inlined, text, body_files, digests)


def line_of(text: str, path: str) -> int | None:
    """The 1-based line in a YAML text where the entry at a dotted document path starts (the
    deepest part of the path the text has), or None when the text cannot be read."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    rest = path
    while node is not None and rest:
        found = None
        if isinstance(node, yaml.MappingNode):
            # Keys may hold dots themselves (a credential's name): the longest key that
            # starts the rest of the path wins.
            for key, value in node.value:
                name = str(key.value)
                if (rest == name or rest.startswith(name + ".")) and (
                    found is None or len(name) > len(found[0])
                ):
                    found = (name, key, value)
        elif isinstance(node, yaml.SequenceNode):
            head = rest.split(".", 1)[0]
            if head.isdigit() and int(head) < len(node.value):
                item = node.value[int(head)]
                found = (head, item, item)
        if found is None:
            break
        name, key, node = found
        line = key.start_mark.line + 1
        rest = rest[len(name) + 1 :]
    return line


def inside(directory: Path, name: str) -> Path:
    """The path of `name` below the directory; a name that leaves it (a server sending
    `../x`) is refused before anything is written."""
    base = directory.resolve()
    target = (base / name).resolve()
    if not target.is_relative_to(base) or target == base:
        raise Failure(f"Refusing to write {name!r}: it is not a file inside {directory}.")
    return target


def _document():
    """The project document module, imported when a command needs it: it brings the models
    and the database layer along (seconds), which every other `ferry` command would pay for."""
    from app.services.project_code import document

    return document


def _write(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.ferry-tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)


def _remove(directory: Path, name: str) -> None:
    target = inside(directory, name)
    target.unlink(missing_ok=True)
    # Empty job folders go too, up to (not including) the directory itself.
    parent = target.parent
    while parent != directory.resolve() and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _mappings(value: object):
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict):
                yield str(key), item
