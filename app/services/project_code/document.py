"""A whole project written out as one document (project.yaml): its name, description,
settings, the credentials shared into it (by name and type, never their secrets) and its
workflows, each in the "Workflows as YAML" format of `workflows.export`.

Plain exports carry no ids, and every section is written in key order, so two instances
holding the same project write the same text (a git diff shows only real changes). Job
bodies can be split out into files (`split_bodies`) and read back in (`inline_bodies`).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Credential, ProjectCredential, Workflow
from app.services import projects as project_service
from app.services.workflows.export import export_document
from app.services.workflows.shapes import DocumentInvalid, Problem

# The settings a project document carries, in the order they are written.
SETTINGS = (
    "egress_allowlist",
    "require_mfa",
    "concurrency",
    "alert_limit_count",
    "alert_limit_minutes",
    "alert_include_logs",
    # Run limits (app.services.project_limits); null: the server's default.
    "run_timeout_s",
    "step_memory_mb",
    "max_payload_kb",
    "discard_logs",
)
MAX_KEY_LENGTH = 100  # workflow keys follow the job-key rule of the workflow document
MAX_PATH_LENGTH = 500
MAX_FILE_BYTES = 1_000_000  # a job body beyond this is not code a person maintains
_DRIVE = re.compile(r"^[A-Za-z]:")


class ProjectDocumentInvalid(DocumentInvalid):
    """A project document with problems: `problems` lists every one, each with its path."""


def export_project(project_id: uuid.UUID, *, with_ids: bool = False) -> dict:
    """The project as a document; `with_ids` adds the ids (and each workflow's
    lock_version) that the provisioning API and `ferry pull` match on."""
    project = project_service.get_project(project_id)
    document: dict = {"id": str(project.id)} if with_ids else {}
    document["name"] = project.name
    document["description"] = project.description or ""
    document["settings"] = {name: _setting(getattr(project, name)) for name in SETTINGS}
    document["credentials"] = shared_credentials(project.id)
    document["workflows"] = {}
    for key, workflow in keyed_workflows(project.id).items():
        document["workflows"][key] = _workflow_entry(workflow, with_ids)
    return document


def keyed_workflows(project_id: uuid.UUID) -> dict[str, Workflow]:
    """The project's workflows (triggers, steps and edges loaded) under their document keys:
    a slug of the name, `-2`, `-3` added on a clash in name order, so the keys stay the same
    from one export to the next; in key order."""
    workflows = db.session.scalars(
        select(Workflow)
        .where(Workflow.project_id == project_id, Workflow.deleted_at.is_(None))
        .options(
            selectinload(Workflow.triggers),
            selectinload(Workflow.steps),
            selectinload(Workflow.edges),
        )
        # Rows already in the session are read again: the import exports after its writes.
        .execution_options(populate_existing=True)
    )
    keyed: dict[str, Workflow] = {}
    # Names in code-point order, not the database's collation, which differs between
    # instances: the same names must get the same keys everywhere.
    for workflow in sorted(workflows, key=lambda w: w.name):
        keyed[unique_key(slug(workflow.name), keyed)] = workflow
    return dict(sorted(keyed.items()))


def slug(name: str) -> str:
    """A workflow's key: lower-case ASCII letters, digits and hyphens ("Patient sync" ->
    "patient-sync"); "workflow" when the name has none of them."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[: MAX_KEY_LENGTH - 4].strip("-")
    return key or "workflow"


def unique_key(key: str, taken) -> str:
    """`key`, or `key-2`, `key-3`, ... when `taken` already holds it."""
    if key not in taken:
        return key
    number = 2
    while f"{key}-{number}" in taken:
        number += 1
    return f"{key}-{number}"


def shared_credentials(project_id: uuid.UUID) -> dict[str, dict]:
    """The credentials shared into the project, by name, with their type (never a secret)."""
    rows = db.session.execute(
        select(Credential.name, Credential.schema)
        .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
        .where(ProjectCredential.project_id == project_id)
    ).all()
    return {name: {"type": schema} for name, schema in sorted(rows)}  # code-point order


def to_yaml(document: dict) -> str:
    """The document as YAML in the order its keys were written; multi-line text (job bodies)
    in block style, so a body reads as code and diffs line by line."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def split_bodies(document: dict) -> tuple[dict, dict[str, str]]:
    """The document with each inline job body replaced by `{path: jobs/<workflow>/<job>.py}`,
    and the text of each of those files by its relative path. The input is not changed."""
    result = _copy(document)
    files: dict[str, str] = {}
    for workflow_key, workflow in _mappings(result.get("workflows")):
        for job_key, job in _mappings(workflow.get("jobs")):
            if isinstance(job.get("body"), str):
                path = f"jobs/{workflow_key}/{job_key}.py"
                files[path] = job["body"]
                job["body"] = {"path": path}
    return result, files


def inline_bodies(
    document: dict,
    read_file: Callable[[str], str],
    problems: list[Problem] | None = None,
) -> dict:
    """The document with each `body: {path: ...}` replaced by the text `read_file(path)`
    gives (a copy; the input is not changed). A path that is absolute, climbs out with `..`
    or cannot be read is a problem at the body's path: added to `problems` when a list is
    given (the importer collects every problem of a document), else ProjectDocumentInvalid
    listing them all."""
    result = _copy(document)
    found: list[Problem] = []
    for workflow_key, workflow in _mappings(result.get("workflows")):
        for job_key, job in _mappings(workflow.get("jobs")):
            body = job.get("body")
            if not isinstance(body, dict):
                continue
            where = f"workflows.{workflow_key}.jobs.{job_key}.body"
            text, message = _read_body(body, read_file)
            if message is not None:
                found.append(Problem(where, message))
            else:
                job["body"] = text
    if problems is not None:
        problems.extend(found)
    elif found:
        raise ProjectDocumentInvalid(found)
    return result


def directory_reader(root: str | Path) -> Callable[[str], str]:
    """A `read_file` for `inline_bodies` that reads UTF-8 files under `root` only (a symbolic
    link pointing out of it is refused like a `..` path)."""
    base = Path(root).resolve()

    def read_file(path: str) -> str:
        target = (base / path).resolve()
        if not target.is_relative_to(base):
            raise PermissionError(path)
        with target.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"larger than {MAX_FILE_BYTES:,} bytes")
        return data.decode("utf-8")

    return read_file


def _read_body(body: dict, read_file: Callable[[str], str]) -> tuple[str | None, str | None]:
    """The text of a `{path: ...}` body, or the message saying why it cannot be had."""
    path = body.get("path")
    if set(body) != {"path"} or not isinstance(path, str):
        return None, "A body is job code as text, or {path: jobs/<workflow>/<job>.py}."
    unsafe = _unsafe(path)
    if unsafe:
        return None, f"The path {path[:80]!r} {unsafe}"
    try:
        text = read_file(path)
    except (FileNotFoundError, KeyError):  # KeyError: a reader over a mapping of files
        return None, f"There is no file {path} next to the project document."
    except PermissionError:
        return None, f"The file {path} is outside the project's directory."
    except UnicodeDecodeError:
        return None, f"The file {path} is not UTF-8 text."
    except (OSError, ValueError) as error:
        return None, f"The file {path} cannot be read ({error})."
    if "\x00" in text:
        return None, f"The file {path} holds a NUL character (\\u0000); remove it."
    return text, None


def _unsafe(path: str) -> str | None:
    """Why a body's path may not be read, or None when it names a file below the document."""
    if not path.strip():
        return "is empty: name a file such as jobs/sync/fetch.py."
    if len(path) > MAX_PATH_LENGTH or "\x00" in path or "\\" in path:
        return "is not a relative path with forward slashes (jobs/sync/fetch.py)."
    if path.startswith("/") or _DRIVE.match(path):
        return "is absolute: give it relative to the project document (jobs/sync/fetch.py)."
    if ".." in PurePosixPath(path).parts:
        return "climbs out of the project's directory with '..'; keep files below it."
    return None


def _workflow_entry(workflow: Workflow, with_ids: bool) -> dict:
    """One workflow's document, sections in key order, with ids when asked."""
    written = export_document(workflow)
    entry: dict = (
        {"id": str(workflow.id), "lock_version": workflow.lock_version} if with_ids else {}
    )
    ids = {
        "triggers": {t.key: t.id for t in workflow.triggers},
        "jobs": {s.key: s.id for s in workflow.steps},
    }
    if with_ids:
        ids["edges"] = _edge_ids(workflow)
    for name, value in written.items():
        if name in ("triggers", "jobs", "edges"):
            section = {}
            for key in sorted(value):
                item_id = ids.get(name, {}).get(key) if with_ids else None
                section[key] = ({"id": str(item_id)} if item_id else {}) | value[key]
            value = section
        entry[name] = value
    return entry


def _edge_ids(workflow: Workflow) -> dict[str, uuid.UUID]:
    """Each edge's id under the key `export_document` gives it (source->target)."""
    names = {t.id: t.key for t in workflow.triggers} | {s.id: s.key for s in workflow.steps}
    return {
        f"{names[e.source_trigger_id or e.source_step_id]}->{names[e.target_step_id]}": e.id
        for e in workflow.edges
    }


def _setting(value: object) -> object:
    return list(value) if isinstance(value, list) else value


def _mappings(value: object):
    """The (key, mapping) pairs of a section, skipping whatever is not a mapping (the
    importer reports those)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict):
                yield key, item


def _copy(value: object) -> object:
    """A copy of the document's mappings and lists (its text and numbers are shared)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing multi-line text as `|` blocks (PyYAML falls back to quotes by
    itself when a text cannot be a block, e.g. with trailing spaces)."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)
