"""Reading a project document before it is applied: every section checked, every problem
collected with its document path, and each workflow entry matched to the workflow it
changes (by id, then by name) or marked new or to be deleted.

Long because one pass over the whole document must find every problem at once (the
importer changes nothing unless there are none): the top level, the settings (the same
rules as the settings pages), the credentials shared into the project by name, and each
workflow through the one workflow validator (`workflows.documents`) with its prefix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Credential, ProjectCredential, Trigger, User, Workflow
from app.services import parsing, project_limits
from app.services import projects as project_service
from app.services.egress import allowlist
from app.services.errors import Invalid
from app.services.notifications import alert_settings
from app.services.project_code.document import SETTINGS, inline_bodies
from app.services.project_settings import MAX_DESCRIPTION_LENGTH
from app.services.workflows import store
from app.services.workflows.documents import MAX_CONCURRENCY, WorkflowDocument, check_document
from app.services.workflows.sections import KEY
from app.services.workflows.shapes import Problem

TOP_KEYS = ("id", "name", "description", "settings", "credentials", "workflows")
# Keys a workflow entry may hold besides the workflow document's own.
ENTRY_KEYS = ("id", "lock_version", "delete")
# Far more than a project holds; each workflow costs queries, so a document is capped.
MAX_WORKFLOWS = 500
# Checked, with the server's maximum, by app.services.project_limits.
_RUN_LIMITS = tuple(limit.field for limit in project_limits.LIMITS)
_WHOLE_SETTINGS = {
    "concurrency": (1, MAX_CONCURRENCY, "runs at once"),
    "alert_limit_count": (alert_settings.MIN_COUNT, alert_settings.MAX_COUNT, "alerts"),
    "alert_limit_minutes": (alert_settings.MIN_MINUTES, alert_settings.MAX_MINUTES, "minutes"),
}


@dataclass
class WorkflowEntry:
    """One entry of `workflows:`: the workflow it names (None: a new one), and either the
    workflow document to store or `delete`."""

    key: str
    existing: Workflow | None
    delete: bool = False
    source: dict | None = None
    document: WorkflowDocument | None = None


@dataclass
class Reading:
    """What a document asks for, as far as it could be read, and every problem in it."""

    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    description: str | None = None
    settings: dict[str, object] = field(default_factory=dict)
    # Credentials of the actor to share into a project created from the document.
    to_share: dict[str, uuid.UUID] = field(default_factory=dict)
    workflows: list[WorkflowEntry] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        """Record a problem at `path`."""
        self.problems.append(Problem(path, message))


def read_project(
    source: object,
    project_id: uuid.UUID | None,
    actor: User | None,
    read_file: Callable[[str], str] | None = None,
) -> Reading:
    """Read and check a whole document (a mapping, or YAML/JSON text) for the project
    `project_id`, or for a new project `actor` creates when it is None."""
    reading = Reading()
    try:
        raw = parsing.read_document(source)
    except Invalid as error:
        reading.add(error.field, error.message)
        return reading
    if not isinstance(raw, dict):
        reading.add(
            "",
            "A project document must be a mapping with name, description, settings, "
            f"credentials and workflows, not {parsing.kind_of(raw)}.",
        )
        return reading
    if read_file is not None:
        raw = inline_bodies(raw, read_file, reading.problems)
    if project_id is not None:
        project_service.get_project(project_id)  # NotFound for a project that is gone
    for key in raw:
        if key not in TOP_KEYS:
            reading.add(str(key), f"Unknown key; a project document has {', '.join(TOP_KEYS)}.")
    _top(reading, raw, project_id)
    _settings(reading, raw.get("settings"))
    available = _available_credentials(project_id, actor)
    _credentials(reading, raw.get("credentials"), available, project_id)
    _workflows(reading, raw.get("workflows"), project_id, available, read_file is not None)
    return reading


def _top(reading: Reading, raw: dict, project_id: uuid.UUID | None) -> None:
    given = raw.get("id")
    if project_id is not None and given is not None and str(given) != str(project_id):
        reading.add(
            "id",
            "This document was written from another project. Remove the id lines (or export "
            "without ids) to copy it into this one.",
        )
    name = raw.get("name")
    if not isinstance(name, str) or not " ".join(name.split()):
        reading.add("name", "The project needs a name (text).")
    elif len(" ".join(name.split())) > project_service.MAX_NAME_LENGTH:
        reading.add("name", f"At most {project_service.MAX_NAME_LENGTH} characters.")
    else:
        reading.name = " ".join(name.split())
    description = raw.get("description")
    if description is None:
        return
    if not isinstance(description, str):
        reading.add("description", f"The description must be text, not {_kind(description)}.")
    elif len(description.strip()) > MAX_DESCRIPTION_LENGTH:
        reading.add("description", f"At most {MAX_DESCRIPTION_LENGTH:,} characters.")
    else:
        reading.description = description.strip()


def _settings(reading: Reading, raw: object) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        reading.add("settings", f"settings must be a mapping, not {_kind(raw)}.")
        return
    for key, value in raw.items():
        path = f"settings.{key}"
        if key not in SETTINGS:
            reading.add(path, f"Unknown setting; the settings are {', '.join(SETTINGS)}.")
        elif key == "egress_allowlist":
            _allowlist(reading, value)
        elif key in _RUN_LIMITS:
            try:
                reading.settings[key] = project_limits.checked(key, value)
            except Invalid as error:
                reading.add(path, error.message)
        elif key in ("require_mfa", "alert_include_logs", "discard_logs"):
            if isinstance(value, bool):
                reading.settings[key] = value
            else:
                reading.add(path, f"Write true or false, not {_kind(value)}.")
        else:
            low, high, unit = _WHOLE_SETTINGS[key]
            if value is None and key == "concurrency":
                reading.settings[key] = None
            elif isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
                reading.settings[key] = value
            else:
                also = " (or null for no limit)" if key == "concurrency" else ""
                reading.add(path, f"Write a whole number of {unit} from {low} to {high}{also}.")


def _allowlist(reading: Reading, value: object) -> None:
    path = "settings.egress_allowlist"
    if value is None:
        value = []
    if not isinstance(value, list):
        reading.add(path, 'Write a list of entries, e.g. ["10.0.0.5:8080", "dhis2.lan"].')
        return
    if len(value) > allowlist.MAX_ENTRIES:
        reading.add(
            path, f"At most {allowlist.MAX_ENTRIES} entries: group addresses in CIDR ranges."
        )
        return
    texts: list[str] = []
    for index, line in enumerate(value):
        if not isinstance(line, str):
            reading.add(f"{path}.{index}", f"An entry must be text, not {_kind(line)}.")
            continue
        try:
            entry = allowlist.parse_entry(line, index + 1)
        except Invalid as error:
            message = error.message.split("): ", 1)[-1]  # the path says which entry
            reading.add(f"{path}.{index}", message[:1].upper() + message[1:])
            continue
        if entry.text not in texts:
            texts.append(entry.text)
    reading.settings["egress_allowlist"] = texts


def _available_credentials(
    project_id: uuid.UUID | None, actor: User | None
) -> dict[str, list[tuple[uuid.UUID, str]]]:
    """The credentials a document may name: those shared into the project, or (for a new
    project) the actor's own, which are shared into it."""
    query = select(Credential.name, Credential.id, Credential.schema)
    if project_id is not None:
        query = query.join(
            ProjectCredential, ProjectCredential.credential_id == Credential.id
        ).where(ProjectCredential.project_id == project_id)
    elif actor is not None:
        query = query.where(Credential.user_id == actor.id)
    else:
        return {}
    found: dict[str, list[tuple[uuid.UUID, str]]] = {}
    for name, credential_id, schema in db.session.execute(query):
        found.setdefault(name, []).append((credential_id, schema))
    return found


def _credentials(
    reading: Reading,
    raw: object,
    available: dict[str, list[tuple[uuid.UUID, str]]],
    project_id: uuid.UUID | None,
) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        reading.add("credentials", f"credentials must be a mapping of names, not {_kind(raw)}.")
        return
    for name, entry in raw.items():
        path = f"credentials.{name}"
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            reading.add(
                path, f"Each credential is a mapping such as {{type: http}}, not {_kind(entry)}."
            )
            continue
        for key in entry:
            if key != "type":
                reading.add(
                    f"{path}.{key}",
                    "Unknown key: a credential names only its type here "
                    "(secrets never travel in a document).",
                )
        found = _one_credential(reading, path, name, available, project_id)
        wanted = entry.get("type")
        if wanted is not None and not isinstance(wanted, str):
            reading.add(f"{path}.type", f"The type must be text, not {_kind(wanted)}.")
        elif found is not None and wanted is not None and wanted != found[1]:
            reading.add(
                f"{path}.type", f"The credential {name!r} is of type {found[1]!r}, not {wanted!r}."
            )


def _one_credential(
    reading: Reading,
    path: str,
    name: object,
    available: dict[str, list[tuple[uuid.UUID, str]]],
    project_id: uuid.UUID | None,
) -> tuple[uuid.UUID, str] | None:
    """The one credential `name` names (shared on creation), or None with a problem."""
    matches = available.get(name, []) if isinstance(name, str) else []
    if len(matches) == 1:
        if project_id is None:
            reading.to_share[name] = matches[0][0]
        return matches[0]
    if matches:
        reading.add(path, f"Several credentials are named {name!r}: rename one of them.")
    elif project_id is None:
        reading.add(
            path,
            f"You have no credential named {name!r}. Create it first: a document never carries "
            "secrets, so importing never creates credentials.",
        )
    else:
        reading.add(
            path,
            f"No credential named {name!r} is shared into this project. Its owner can share it "
            "(a document never carries secrets, so importing never creates credentials).",
        )
    return None


def _workflows(
    reading: Reading,
    raw: object,
    project_id: uuid.UUID | None,
    available: dict[str, list[tuple[uuid.UUID, str]]],
    files_read: bool,
) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        reading.add(
            "workflows", f"workflows must be a mapping of keys to workflows, not {_kind(raw)}."
        )
        return
    if len(raw) > MAX_WORKFLOWS:
        reading.add("workflows", f"At most {MAX_WORKFLOWS} workflows in one document.")
        return
    live = store.list_workflows(project_id) if project_id is not None else []
    by_id, by_name = {w.id: w for w in live}, {w.name: w for w in live}
    claimed: dict[uuid.UUID, str] = {}
    for key, entry in raw.items():
        path = f"workflows.{key}"
        if not isinstance(key, str) or not KEY.match(key):
            reading.add(
                path, "Keys use letters, digits, '-', '_' and '.' (at most 100 characters)."
            )
            continue
        if not isinstance(entry, dict):
            reading.add(
                path,
                f"Each workflow is a mapping (name, triggers, jobs, edges), not {_kind(entry)}.",
            )
            continue
        found = _match(reading, path, entry, project_id, by_id, by_name)
        if found is not None:
            if found.id in claimed:
                reading.add(path, f"workflows.{claimed[found.id]} already names this workflow.")
                continue
            claimed[found.id] = key
            _lock(reading, path, entry, found)
        delete = entry.get("delete", False)
        if not isinstance(delete, bool):
            reading.add(
                f"{path}.delete", "Write delete: true to delete this workflow, or leave it out."
            )
            continue
        if delete:
            _deletion(reading, path, entry, found, project_id)
            continue
        _document(reading, key, entry, found, project_id, available, files_read)
    _names_are_free(reading, live, claimed)
    _custom_paths_are_free(reading)


def _match(
    reading: Reading,
    path: str,
    entry: dict,
    project_id: uuid.UUID | None,
    by_id: dict[uuid.UUID, Workflow],
    by_name: dict[str, Workflow],
) -> Workflow | None:
    """The workflow an entry changes: by its id, else by its name; None for a new one."""
    if project_id is None:
        return None  # a new project: ids written by another project mean nothing here
    given = entry.get("id")
    if given is not None:
        try:
            workflow = by_id.get(uuid.UUID(given)) if isinstance(given, str) else None
        except ValueError:
            workflow = None
            reading.add(f"{path}.id", "This is not a workflow id.")
            return None
        if workflow is None:
            reading.add(
                f"{path}.id",
                "No workflow with this id is in this project (it may have been deleted). "
                "Remove the id to create the workflow anew.",
            )
        return workflow
    name = entry.get("name")
    return by_name.get(" ".join(name.split())) if isinstance(name, str) else None


def _lock(reading: Reading, path: str, entry: dict, found: Workflow | None) -> None:
    """A `lock_version` written by export must still be the workflow's: else someone saved
    it since, and applying the document would overwrite their work."""
    lock = entry.get("lock_version")
    if lock is None or found is None:
        return
    if isinstance(lock, bool) or not isinstance(lock, int):
        reading.add(f"{path}.lock_version", "The lock_version is a whole number.")
    elif lock != found.lock_version:
        reading.add(
            f"{path}.lock_version",
            f"Someone saved this workflow since this document was written (version {lock} "
            f"then, {found.lock_version} now). Fetch the project again and redo your change.",
        )


def _deletion(
    reading: Reading, path: str, entry: dict, found: Workflow | None, project_id: uuid.UUID | None
) -> None:
    if project_id is None:
        reading.add(f"{path}.delete", "A new project has no workflow to delete.")
    elif found is None and entry.get("id") is None:
        name = entry.get("name")
        if isinstance(name, str):
            reading.add(path, f"There is no workflow named {name!r} to delete.")
        else:
            reading.add(path, "Say which workflow to delete: give its id or its name.")
    elif found is not None:
        reading.workflows.append(WorkflowEntry(path.split(".", 1)[1], found, delete=True))


def _document(
    reading: Reading,
    key: str,
    entry: dict,
    found: Workflow | None,
    project_id: uuid.UUID | None,
    available: dict[str, list[tuple[uuid.UUID, str]]],
    files_read: bool,
) -> None:
    prefix = f"workflows.{key}."
    source = _workflow_source(reading, prefix, entry, files_read)
    checked = check_document(source)
    for problem in checked.errors:
        reading.add(f"{prefix}{problem.path}" if problem.path else prefix[:-1], problem.message)
    document = checked.document
    for job in document.jobs:
        if job.credential:
            where = f"{prefix}jobs.{job.key}.credential"
            if job.credential not in available:
                reading.add(
                    where,
                    f"No credential named {job.credential!r} is "
                    + ("yours." if project_id is None else "shared into this project."),
                )
            else:
                _one_credential(reading, where, job.credential, available, project_id)
    reading.workflows.append(WorkflowEntry(key, found, source=source, document=document))


def _workflow_source(reading: Reading, prefix: str, entry: dict, files_read: bool) -> dict:
    """The workflow document in an entry: without the entry's own keys (id, lock_version,
    delete) and without the ids export writes on triggers, jobs and edges."""
    source = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
    for section in ("triggers", "jobs", "edges"):
        items = source.get(section)
        if not isinstance(items, dict):
            continue
        source[section] = {
            k: ({f: v for f, v in item.items() if f != "id"} if isinstance(item, dict) else item)
            for k, item in items.items()
        }
    jobs = source.get("jobs") if isinstance(source.get("jobs"), dict) else {}
    for job_key, job in jobs.items():
        if isinstance(job, dict) and isinstance(job.get("body"), dict) and not files_read:
            reading.add(
                f"{prefix}jobs.{job_key}.body",
                "A body read from a file ({path: ...}) works only where the files are "
                "(ferry deploy, git sync); here, write the job code inline.",
            )
            source["jobs"][job_key] = {**job, "body": ""}
    return source


def _names_are_free(reading: Reading, live: list[Workflow], claimed: dict) -> None:
    """Each workflow's name, after the change, is its own in the project."""
    owners = {w.name: "an existing workflow" for w in live if w.id not in claimed}
    for entry in reading.workflows:
        if entry.delete or entry.document is None or not entry.document.name:
            continue
        name = entry.document.name
        if name in owners:
            reading.add(
                f"workflows.{entry.key}.name",
                f"The name {name!r} is taken by {owners[name]}; workflow names are unique.",
            )
        owners[name] = f"workflows.{entry.key}"


def _custom_paths_are_free(reading: Reading) -> None:
    """No two webhook triggers, here or in any project, share a custom path."""
    changing = {e.existing.id for e in reading.workflows if e.existing is not None}
    wanted: dict[str, str] = {}
    for entry in reading.workflows:
        for trigger in entry.document.triggers if entry.document else []:
            if not trigger.custom_path:
                continue
            path = f"workflows.{entry.key}.triggers.{trigger.key}.custom_path"
            if trigger.custom_path in wanted:
                reading.add(path, f"{wanted[trigger.custom_path]} has the same webhook path.")
            wanted[trigger.custom_path] = path
    if not wanted:
        return
    rows = db.session.execute(
        select(Trigger.custom_path, Trigger.workflow_id).where(Trigger.custom_path.in_(wanted))
    )
    for custom_path, workflow_id in rows:
        if workflow_id not in changing:
            reading.add(wanted[custom_path], f"The webhook path {custom_path!r} is already taken.")


def _kind(value: object) -> str:
    return parsing.kind_of(value)
