"""Creating a workflow from a template: the document with the form's answers filled in, and
its sample input saved as a test input, in one transaction."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import Dataclip, DataclipType, Workflow
from app.services.errors import Invalid
from app.services.studio import canvas
from app.services.workflow_templates.catalog import Template, get_template
from app.services.workflows import store
from app.services.zero_persistence import settings as zero_persistence_settings

MAX_NAME = 200
MAX_URL = 2000
SAMPLE_SUFFIX = " — sample input"
# Characters a URL carries only percent-encoded; refused so that no answer looks like code.
UNSAFE_IN_URL = set("\"'\\<>`{}|^")


@dataclass(frozen=True)
class Created:
    """The new workflow and the test input saved with it (None when the template has none)."""

    workflow: Workflow
    sample_input_id: uuid.UUID | None


def credential_choices(project_id: uuid.UUID, template: Template) -> dict[str, list[str]]:
    """For each step needing a credential, the names of the project's shared credentials of
    its type (or raw JSON) that the "use template" form offers."""
    shared = canvas.shared_credentials(project_id)
    return {
        slot.job_key: [c.name for c in shared if c.schema in (slot.schema, "raw")]
        for slot in template.credential_slots
    }


def create_from_template(
    project_id: uuid.UUID,
    key: str,
    name: str,
    actor_id: uuid.UUID | None,
    *,
    settings: dict[str, str] | None = None,
    credentials: dict[str, str] | None = None,
) -> Created:
    """A workflow named `name` from the template `key`, with its sample input saved as a test
    input; Invalid names the form field to fix (name, a setting's key, credential-<job>)."""
    template = get_template(key)
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("name", "Give the workflow a name.")
    if len(name) > MAX_NAME:
        raise Invalid("name", f"The name is too long: at most {MAX_NAME} characters.")
    document = copy.deepcopy(template.document)
    document["name"] = name
    _fill_settings(template, document, settings or {})
    _attach_credentials(project_id, template, document, credentials or {})
    clip = None
    # A project keeping no bodies (zero persistence) gets no saved sample input either.
    if template.sample_input is not None and not zero_persistence_settings.is_on(project_id):
        clip = Dataclip(
            project_id=project_id,
            type=DataclipType.SAVED_INPUT,
            body=copy.deepcopy(template.sample_input),
            name=_free_input_name(project_id, name),
        )
        db.session.add(clip)
    try:
        # create_workflow commits once: the sample input is stored with it or not at all.
        workflow = store.create_workflow(project_id, document, actor_id)
    except Exception:
        db.session.rollback()
        raise
    return Created(workflow, clip.id if clip is not None else None)


def check_url(value: str, field: str) -> str:
    """`value` when it is an http(s) address with a host, else Invalid(field) saying so."""
    value = (value or "").strip()
    if not value:
        raise Invalid(field, "Give the address, e.g. https://registry.example.org/api/people.")
    if len(value) > MAX_URL:
        raise Invalid(field, f"The address is too long: at most {MAX_URL} characters.")
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or ord(c) < 32 or c in UNSAFE_IN_URL for c in value)
    ):
        raise Invalid(
            field, "Use a full http:// or https:// address, e.g. https://example.org/api/people."
        )
    return value


def _fill_settings(template: Template, document: dict, answers: dict[str, str]) -> None:
    # The placeholder sits in the job code as a string literal; the answer goes in as one too
    # (json.dumps writes a literal Python reads the same), so no answer can become code.
    for setting in template.settings:
        value = check_url(answers.get(setting.key, ""), setting.key)
        old, new = json.dumps(setting.replaces), json.dumps(value)
        for job in (document.get("jobs") or {}).values():
            if isinstance(job.get("body"), str):
                job["body"] = job["body"].replace(old, new)


def _attach_credentials(
    project_id: uuid.UUID, template: Template, document: dict, chosen: dict[str, str]
) -> None:
    choices = credential_choices(project_id, template)
    for slot in template.credential_slots:
        name = (chosen.get(slot.job_key) or "").strip()
        if not name:
            continue  # attached later in the builder
        if name not in choices.get(slot.job_key, []):
            raise Invalid(
                f"credential-{slot.job_key}",
                f"Choose a {slot.type_label} credential shared into this project, "
                "or leave it to set later.",
            )
        document["jobs"][slot.job_key]["credential"] = name


def _free_input_name(project_id: uuid.UUID, workflow_name: str) -> str:
    taken = set(
        db.session.scalars(
            select(Dataclip.name).where(
                Dataclip.project_id == project_id,
                Dataclip.type == DataclipType.SAVED_INPUT,
                Dataclip.name.startswith(workflow_name[:150], autoescape=True),
            )
        )
    )
    base = f"{workflow_name[: MAX_NAME - 30]}{SAMPLE_SUFFIX}"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base} ({number})", number + 1
    return candidate
