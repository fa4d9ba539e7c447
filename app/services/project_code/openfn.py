"""Importing an OpenFn Lightning `project.yaml`: its structure becomes a Ferry project document.

`convert(text_or_mapping)` reads Lightning's format (top-level name, description,
credentials, workflows with jobs, triggers and edges) and returns a Ferry project document
(the contract in `document.py`) and the notes a person needs to finish the move: which jobs to
port, which credentials to create, which adaptors and conditions had no counterpart. Nothing
is written here; `importing.apply_project` creates the project from the document.

Choices, so an imported project is safe before anyone has ported it:
- JavaScript bodies are kept as comments under a "port this job" banner above a no-op
  (`fn(lambda state: state)`), so each workflow validates and runs without doing anything.
- Credentials travel as placeholders: jobs get `credential: null` (a Ferry import refuses
  names not shared into the project, and none can be yet) and the Lightning name is kept in
  the job's banner and in a note; the document has no `credentials:` section.
- Triggers arrive switched off (a webhook answering with a no-op would swallow real data);
  a note names each one that was on in Lightning.
- `js_expression` edges become `expression` edges whose condition is `False  # port: <js>`.
Problems are reported with their path in the Lightning document (`workflows.a.jobs.b.adaptor`)
and all at once.

Long because one conversion reads five kinds of entries (project, workflow, job, trigger,
edge) field by field, each with its own notes; splitting it would scatter one mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import Project, User
from app.services import adaptor_catalog, parsing
from app.services.errors import Invalid, NotFound
from app.services.project_code import importing
from app.services.project_code.document import slug, unique_key
from app.services.workflows.documents import check_document
from app.services.workflows.shapes import DocumentInvalid, Problem

# Far above any real Lightning project (tens of workflows, a few hundred lines of JS each).
MAX_TEXT = 2_000_000
MAX_WORKFLOWS = 200
MAX_JOBS = 200  # per workflow
MAX_NAME = 200  # projects, workflows and steps: varchar(200)
KEY_LENGTH = 90  # Ferry keys: edge keys "a->b" must stay within 201 characters
BANNER = "# ---- port this job from OpenFn (JavaScript) ----"
BANNER_END = "# ---- end of the OpenFn job ----"
NO_OP = "fn(lambda state: state)"
# Lightning adaptor names (after @openfn/language-) and the Ferry adaptor each becomes.
ADAPTORS = {
    "http": "http",
    "dhis2": "dhis2",
    "commcare": "commcare",
    "fhir": "fhir",
    "postgresql": "postgresql",
    "common": "common",
}
_ADAPTOR = re.compile(r"^@openfn/language-(?P<name>[a-z0-9][a-z0-9-]*)(?:@(?P<version>\S+))?$")
CONDITIONS = {"always", "on_job_success", "on_job_failure"}
_NOT_KEY = re.compile(r"[^A-Za-z0-9_-]+")  # no dots: paths are dotted

# Note kinds, so a page can list one kind (the jobs to port) on its own.
PORT, CREDENTIAL, ADAPTOR, CONDITION, TRIGGER, IGNORED = (
    "port",
    "credential",
    "adaptor",
    "condition",
    "trigger",
    "ignored",
)


@dataclass(frozen=True)
class Note:
    """Something to finish by hand after the import; `path` is in the Lightning document."""

    path: str
    kind: str
    message: str
    subject: str = ""  # for a job to port: “Job” in “Workflow”, to list in a sentence

    def as_dict(self) -> dict:
        """The note as JSON (the API answers with these)."""
        return {"path": self.path, "kind": self.kind, "message": self.message}


class LightningInvalid(DocumentInvalid):
    """A Lightning document Ferry cannot import: `problems` has every one, with its path."""


def convert(source: str | bytes | Mapping) -> tuple[dict, list[Note]]:
    """A Ferry project document and the notes for a Lightning project.yaml (text or mapping);
    LightningInvalid listing every problem when it cannot be imported."""
    raw = _read(source)
    converter = _Converter()
    document = converter.project(raw)
    if converter.problems:
        raise LightningInvalid(converter.problems)
    return document, converter.notes


def credential_placeholders(notes: list[Note]) -> list[str]:
    """The messages of the notes about credentials to create (for a flash or a summary)."""
    return [note.message for note in notes if note.kind == CREDENTIAL]


def _read(source: object) -> Mapping:
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _invalid("", f"The document is not UTF-8 text (byte {error.start}).") from None
    try:
        if isinstance(source, str):
            if len(source) > MAX_TEXT:
                raise Invalid("", f"The document is too large: at most {MAX_TEXT:,} characters.")
            if "\x00" in source:
                line = source.count("\n", 0, source.index("\x00")) + 1
                raise Invalid("", f"The document holds a NUL character on line {line}: remove it.")
            value = parsing.load_yaml(source, field="", what="The document")
            _refuse_duplicate_keys(source)
        else:
            parsing.check_storable(source, field="", what="The document")
            value = source
    except Invalid as error:
        raise _invalid(error.field, error.message) from None
    if not isinstance(value, Mapping):
        raise _invalid(
            "",
            "An OpenFn project.yaml is a mapping with name, workflows (and credentials); "
            f"this document is {parsing.kind_of(value)}.",
        )
    return value


def _refuse_duplicate_keys(text: str) -> None:
    """Invalid naming the first key written twice in one mapping (YAML keeps the last one
    silently, which would drop a job without a word)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    pending = [(root, "")] if root is not None else []
    seen: set[int] = set()  # aliases point at nodes already walked
    while pending:
        node, path = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in lines:
                    where = f"{path}.{key}" if path else key
                    raise Invalid(
                        where,
                        f"The key {key!r} is written twice here (lines {lines[key]} and "
                        f"{key_node.start_mark.line + 1}): keep one.",
                    )
                if key is not None:
                    lines[key] = key_node.start_mark.line + 1
                    pending.append((value_node, f"{path}.{key}" if path else key))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, f"{path}.{i}") for i, item in enumerate(node.value))


def _invalid(path: str, message: str) -> LightningInvalid:
    return LightningInvalid([Problem(path, message)])


class _Converter:
    """One conversion: the notes and problems found so far."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.problems: list[Problem] = []
        self.credentials: dict[str, str] = {}  # Lightning credential key -> a name to show
        self.current = ""  # the name of the workflow being read, for the notes

    def note(self, path: str, kind: str, message: str, subject: str = "") -> None:
        self.notes.append(Note(path, kind, message, subject))

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def project(self, raw: Mapping) -> dict:
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem("name", "The project needs a name (text).")
            name = ""
        elif len(name.strip()) > MAX_NAME:
            self.problem("name", f"The project's name is too long: at most {MAX_NAME} characters.")
        description = raw.get("description")
        if description is not None and not isinstance(description, str):
            self.problem("description", "The description must be text.")
            description = None
        self.ignored(raw, {"name", "description", "credentials", "workflows"}, "")
        self.read_credentials(raw.get("credentials"))
        document: dict = {"name": " ".join(name.split())}
        if description:
            document["description"] = description.strip()
        document["workflows"] = self.workflows(raw.get("workflows"))
        return document

    def ignored(self, raw: Mapping, known: set[str], path: str) -> None:
        extra = [str(key) for key in raw if key not in known]
        if extra:
            self.note(
                path or "(top level)",
                IGNORED,
                f"Not imported (Ferry has no counterpart): {', '.join(sorted(extra))}.",
            )

    def read_credentials(self, raw: object) -> None:
        if raw is None:
            return
        if not isinstance(raw, Mapping):
            self.problem("credentials", "credentials must be a mapping of keys to {name, owner}.")
            return
        for key, entry in raw.items():
            if not isinstance(entry, Mapping):
                self.problem(f"credentials.{key}", "Each credential is a mapping: name, owner.")
                continue
            name = entry.get("name")
            self.credentials[str(key)] = name if isinstance(name, str) and name else str(key)

    def workflows(self, raw: object) -> dict:
        if not isinstance(raw, Mapping) or not raw:
            self.problem(
                "workflows", "The project has no workflows: Lightning lists them under workflows."
            )
            return {}
        if len(raw) > MAX_WORKFLOWS:
            self.problem("workflows", f"At most {MAX_WORKFLOWS} workflows can be imported at once.")
            return {}
        converted: dict = {}
        names: set[str] = set()
        for key, entry in raw.items():
            path = f"workflows.{key}"
            if not isinstance(entry, Mapping):
                self.problem(path, f"Each workflow is a mapping, not {parsing.kind_of(entry)}.")
                continue
            name = entry.get("name", key)
            if not isinstance(name, str) or not name.strip():
                self.problem(f"{path}.name", "The workflow needs a name (text).")
                continue
            name = _unique_name(" ".join(name.split()), names)
            workflow = self.workflow(entry, path, name)
            if workflow is not None:
                converted[unique_key(slug(name), converted)] = workflow
        return converted

    def workflow(self, raw: Mapping, path: str, name: str) -> dict | None:
        self.ignored(raw, {"name", "jobs", "triggers", "edges", "concurrency"}, path)
        jobs_raw = raw.get("jobs")
        if not isinstance(jobs_raw, Mapping) or not jobs_raw:
            self.problem(
                f"{path}.jobs", "This workflow has no jobs: a workflow needs at least one."
            )
            return None
        if len(jobs_raw) > MAX_JOBS:
            self.problem(f"{path}.jobs", f"At most {MAX_JOBS} jobs in one workflow.")
            return None
        workflow: dict = {"name": name}
        self.current = name
        concurrency = raw.get("concurrency")
        if isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency > 0:
            workflow["concurrency"] = concurrency
        job_keys = _keys(jobs_raw)
        trigger_keys = _keys(raw.get("triggers") or {})
        back = {"jobs": {v: k for k, v in job_keys.items()}}
        back["triggers"] = {v: k for k, v in trigger_keys.items()}
        back["edges"] = {}
        workflow["triggers"] = self.triggers(raw.get("triggers"), path, trigger_keys)
        workflow["jobs"] = {
            job_keys[key]: self.job(entry, f"{path}.jobs.{key}", name, key)
            for key, entry in jobs_raw.items()
        }
        workflow["edges"] = self.edges(raw.get("edges"), path, trigger_keys, job_keys, back)
        before = len(self.problems)
        for problem in check_document(workflow).errors:
            self.problem(_lightning_path(problem.path, path, back), problem.message)
        return workflow if len(self.problems) == before else None

    def job(self, raw: object, path: str, workflow: str, key: str) -> dict:
        if not isinstance(raw, Mapping):
            self.problem(path, f"Each job is a mapping, not {parsing.kind_of(raw)}.")
            return {"name": key, "adaptor": "common@1", "credential": None, "body": NO_OP}
        self.ignored(raw, {"name", "adaptor", "credential", "body", "enabled"}, path)
        name = raw.get("name", key)
        if not isinstance(name, str):
            self.problem(f"{path}.name", "The job's name must be text.")
            name = key
        credential = self.credential(raw.get("credential"), path, workflow, name)
        adaptor, original = self.adaptor(raw.get("adaptor"), f"{path}.adaptor", name)
        body = raw.get("body")
        if body is not None and not isinstance(body, str):
            self.problem(f"{path}.body", "The job's body must be text (JavaScript).")
            body = ""
        if raw.get("enabled") is False:
            self.note(
                path,
                IGNORED,
                f"“{name}” was switched off in Lightning; Ferry steps have no switch.",
            )
        subject = f"“{name}” in “{workflow}”"
        self.note(path, PORT, f"Port {subject} ({original})", subject)
        return {
            "name": name,
            "adaptor": adaptor,
            "credential": None,
            "body": _banner_body(body or "", original, credential),
        }

    def credential(self, raw: object, path: str, workflow: str, job: str) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str) or not raw.strip():
            self.problem(f"{path}.credential", "Name a credential (text) or leave it null.")
            return None
        name = self.credentials.get(raw, raw)
        self.note(
            f"{path}.credential",
            CREDENTIAL,
            f"Create the credential “{name}” in Ferry, share it into this project and choose "
            f"it on the step “{job}” of “{workflow}” (imported without one).",
        )
        return name

    def adaptor(self, raw: object, path: str, job: str) -> tuple[str, str]:
        if not isinstance(raw, str) or not raw.strip():
            self.problem(path, 'Name the job\'s adaptor, e.g. "@openfn/language-http@6.4.0".')
            return "common@1", "no adaptor"
        match = _ADAPTOR.match(raw.strip())
        lightning = match["name"] if match else None
        if lightning is not None:
            family = "fhir" if lightning.startswith("fhir") else lightning
            ferry = ADAPTORS.get(family)
            if ferry and adaptor_catalog.spec(ferry) is not None:
                return f"{ferry}@1", raw.strip()
        self.note(
            path,
            ADAPTOR,
            f"Ferry has no adaptor for {raw.strip()} (“{job}” in “{self.current}”): the step "
            "uses common@1; "
            "port its operations to http@1 or another adaptor.",
        )
        return "common@1", raw.strip()

    def triggers(self, raw: object, path: str, keys: dict[str, str]) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.problem(f"{path}.triggers", "triggers must be a mapping of keys to triggers.")
            return {}
        converted = {}
        for key, entry in raw.items():
            where = f"{path}.triggers.{key}"
            if not isinstance(entry, Mapping):
                self.problem(where, f"Each trigger is a mapping, not {parsing.kind_of(entry)}.")
                continue
            self.ignored(entry, {"type", "enabled", "cron_expression", "webhook_reply"}, where)
            kind = entry.get("type")
            trigger: dict = {"type": "webhook", "enabled": False}
            if kind == "cron":
                trigger = {
                    "type": "cron",
                    "enabled": False,
                    "cron_expression": entry.get("cron_expression"),
                }
            elif kind == "kafka":
                self.note(where, TRIGGER, "Ferry has no Kafka trigger: it became a webhook.")
            elif kind != "webhook":
                self.problem(f"{where}.type", "A trigger's type is webhook, cron or kafka.")
                continue
            reply = entry.get("webhook_reply")
            if kind == "webhook" and reply in ("before_start", "after_completion"):
                trigger["webhook_reply"] = reply
            if entry.get("enabled", True) is not False:
                self.note(
                    where,
                    TRIGGER,
                    f"The {trigger['type']} trigger of “{self.current}” was on in Lightning and "
                    "is off in Ferry: "
                    "switch it on once the jobs are ported.",
                )
            converted[keys[key]] = trigger
        return converted

    def edges(self, raw: object, path: str, triggers: dict, jobs: dict, back: dict) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.problem(f"{path}.edges", "edges must be a mapping of keys to edges.")
            return {}
        converted = {}
        for key, entry in raw.items():
            where = f"{path}.edges.{key}"
            if not isinstance(entry, Mapping):
                self.problem(where, f"Each edge is a mapping, not {parsing.kind_of(entry)}.")
                continue
            edge = self.edge(entry, where, triggers, jobs)
            if edge is not None:
                source = edge.get("source_trigger") or edge.get("source_job")
                ferry_key = f"{source}->{edge['target_job']}"
                if ferry_key in converted:
                    self.problem(where, "Another edge already joins the same two places.")
                    continue
                converted[ferry_key] = edge
                back["edges"][ferry_key] = str(key)
        return converted

    def edge(self, raw: Mapping, where: str, triggers: dict, jobs: dict) -> dict | None:
        known = {"source_trigger", "source_job", "target_job", "condition_type"}
        self.ignored(raw, known | {"condition_expression", "condition_label", "enabled"}, where)
        edge: dict = {}
        source_trigger, source_job = raw.get("source_trigger"), raw.get("source_job")
        if (source_trigger is None) == (source_job is None):
            self.problem(where, "An edge has exactly one source: source_trigger or source_job.")
            return None
        if source_trigger is not None:
            if not _known(source_trigger, triggers):
                self.problem(f"{where}.source_trigger", f"There is no trigger {source_trigger!r}.")
                return None
            edge["source_trigger"] = triggers[source_trigger]
        elif not _known(source_job, jobs):
            self.problem(f"{where}.source_job", f"There is no job {source_job!r}.")
            return None
        else:
            edge["source_job"] = jobs[source_job]
        target = raw.get("target_job")
        if not _known(target, jobs):
            self.problem(f"{where}.target_job", f"There is no job {target!r} to point at.")
            return None
        edge["target_job"] = jobs[target]
        condition = raw.get("condition_type", "always")
        label = raw.get("condition_label")
        if condition == "js_expression":
            js = raw.get("condition_expression")
            if not isinstance(js, str):
                self.problem(f"{where}.condition_expression", "A js_expression edge needs text.")
                return None
            one_line = " ".join(js.split())
            edge["condition_type"] = "expression"
            edge["condition_expression"] = f"False  # port: {one_line}"
            label = label if isinstance(label, str) and label.strip() else "port this condition"
            self.note(
                f"{where}.condition_expression",
                CONDITION,
                f"Port the JavaScript condition of {where.rsplit('.', 1)[-1]} in “{self.current}” "
                "to Python (the edge is never taken until "
                f"then): {one_line[:200]}",
            )
        elif condition in CONDITIONS:
            edge["condition_type"] = condition
        else:
            self.problem(
                f"{where}.condition_type",
                f"{condition!r} is not one of: always, on_job_success, on_job_failure, "
                "js_expression.",
            )
            return None
        if isinstance(label, str) and label.strip():
            edge["condition_label"] = label.strip()[:200]
        enabled = raw.get("enabled", True)
        edge["enabled"] = enabled if isinstance(enabled, bool) else True
        return edge


def _known(value: object, keys: dict) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and value in keys


def _banner_body(js: str, adaptor: str, credential: str | None) -> str:
    lines = [
        BANNER,
        f"# Imported from OpenFn Lightning; its adaptor was {adaptor}.",
    ]
    if credential:
        lines.append(
            f"# It used the credential “{credential}”: create it in Ferry, share it into the "
            "project and choose it on this step."
        )
    lines += [
        "# Rewrite the JavaScript below in Ferry's Python job language, then delete these",
        "# comments. Until then the step passes its input on unchanged.",
        "#",
    ]
    lines += [f"# {line}".rstrip() for line in js.splitlines()] or ["# (the job had no body)"]
    lines += [BANNER_END, NO_OP]
    return "\n".join(lines) + "\n"


def _slug(text: str, fallback: str) -> str:
    slug = _NOT_KEY.sub("-", text).strip("-_")[:KEY_LENGTH].strip("-_")
    return slug or fallback


def _keys(raw: object) -> dict[str, str]:
    """Each Lightning key of a section and the Ferry key it becomes (unique, slug-safe)."""
    if not isinstance(raw, Mapping):
        return {}
    found: dict[str, str] = {}
    for key in raw:
        slug = _slug(str(key), "entry")
        candidate, n = slug, 2
        while candidate in found.values():
            candidate, n = f"{slug[: KEY_LENGTH - 4]}-{n}", n + 1
        found[key] = candidate
    return found


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate.lower() in taken:
        candidate, n = f"{name} ({n})", n + 1
    taken.add(candidate.lower())
    return candidate


def _lightning_path(path: str, prefix: str, back: dict) -> str:
    """A Ferry workflow path (`jobs.fetch.name`) as a path in the Lightning document."""
    parts = path.split(".", 2)
    if len(parts) >= 2 and parts[0] in back:
        parts[1] = back[parts[0]].get(parts[1], parts[1])
    return f"{prefix}.{'.'.join(parts)}" if path else prefix


def import_project(source: str | bytes | Mapping, owner: User) -> tuple[Project, list[Note]]:
    """Create a project (owned by `owner`) from a Lightning project.yaml, all or nothing;
    LightningInvalid or ProjectDocumentInvalid (paths in the Ferry document) when it cannot."""
    document, notes = convert(source)
    result = importing.apply_project(document, owner)
    return result.project, notes


def owner_for_email(email: str) -> User:
    """The user who will own an imported project (`ferry import-openfn --owner`), or NotFound."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    return user


def summary(document: Mapping) -> list[dict]:
    """What an import will create, workflow by workflow, for the preview: each workflow's
    name, triggers (kind, schedule), jobs (name, adaptor) and number of edges."""
    return [
        {
            "name": workflow["name"],
            "triggers": [
                f"cron {trigger['cron_expression']}" if trigger["type"] == "cron" else "webhook"
                for trigger in workflow["triggers"].values()
            ],
            "jobs": [(job["name"], job["adaptor"]) for job in workflow["jobs"].values()],
            "edges": len(workflow["edges"]),
        }
        for workflow in document.get("workflows", {}).values()
    ]
