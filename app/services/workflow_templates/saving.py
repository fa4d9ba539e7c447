"""Saving a workflow as a template for the whole instance, and deleting saved templates.

A template must never carry a secret: credentials are dropped from its steps (another
project has its own), custom webhook paths too (they are unique), and every value of the
project's credentials and of the workflow's webhook keys is masked in the job code and in
the sample input before the row is written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Dataclip, DataclipType, Run, User, Workflow, WorkflowTemplate
from app.scrub import Scrubber
from app.services.credentials import store as credential_store
from app.services.encryption import decrypt_text
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.studio import run_panel
from app.services.workflow_templates.builtin import builtin_templates
from app.services.workflows import export, store

MAX_NAME = 120  # the column's length
MAX_DESCRIPTION = 2000
MAX_SAMPLE = 256 * 1024  # characters of JSON: a sample, not a data set
NO_SAMPLE, LAST_INPUT = "none", "last"


@dataclass(frozen=True)
class SampleChoice:
    """One choice of the "which input to keep" list."""

    value: str
    label: str


def sample_choices(workflow_id: uuid.UUID, project_id: uuid.UUID) -> list[SampleChoice]:
    """No sample, the workflow's last input (when it ran), or one of the saved test inputs."""
    choices = [SampleChoice(NO_SAMPLE, "No sample input")]
    if _last_input_id(workflow_id) is not None:
        choices.append(SampleChoice(LAST_INPUT, "The input of the latest run"))
    saved = run_panel.input_choices(workflow_id, project_id)["saved"]
    choices += [SampleChoice(str(c.dataclip_id), f"Saved input: {c.label}") for c in saved]
    return choices


def save_as_template(
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    actor_id: uuid.UUID,
    *,
    name: str,
    description: str = "",
    sample: str = NO_SAMPLE,
) -> WorkflowTemplate:
    """Save the workflow (without credentials or secrets) as a template every project sees;
    Invalid names the field to fix (name, description, sample)."""
    workflow = store.get_workflow(workflow_id, project_id)
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("name", "Give the template a name.")
    if len(name) > MAX_NAME:
        raise Invalid("name", f"The name is too long: at most {MAX_NAME} characters.")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(
            "description", f"The description is too long: at most {MAX_DESCRIPTION} characters."
        )
    _name_is_free(name)
    scrub = _secret_scrubber(project_id, workflow)
    document = scrub.scrub_json(_shareable_document(workflow))
    body = _sample(project_id, workflow_id, sample)
    sample_text = None
    if body is not None:
        sample_text = json.dumps(scrub.scrub_json(body), ensure_ascii=False)
        if len(sample_text) > MAX_SAMPLE:
            raise Invalid(
                "sample", "That input is too large for a sample (256 KB at most): choose another."
            )
    row = WorkflowTemplate(
        name=name,
        description=scrub.scrub_text(description),
        document=yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
        sample_input=sample_text,
        created_by_id=actor_id,
        source_project_id=project_id,
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # saved by someone else in the meantime
        db.session.rollback()
        raise Invalid("name", f"There already is a template named {name!r}.") from None
    return row


def can_delete(user: User, created_by_id: uuid.UUID | None) -> bool:
    """Superusers may delete any saved template, others only their own."""
    return bool(user.is_superuser or (created_by_id and created_by_id == user.id))


def deletable_template(template_id: uuid.UUID, actor: User) -> WorkflowTemplate:
    """The saved template if `actor` may delete it: NotFound, or Forbidden for anyone but
    its saver and superusers."""
    row = db.session.get(WorkflowTemplate, template_id)
    if row is None:
        raise NotFound("There is no such template: it may have been deleted.")
    if not can_delete(actor, row.created_by_id):
        raise Forbidden("Only the person who saved this template, or a superuser, may delete it.")
    return row


def delete_template(template_id: uuid.UUID, actor: User) -> str:
    """Delete a saved template (its saver or a superuser); the name it had."""
    row = deletable_template(template_id, actor)
    name = row.name
    db.session.delete(row)
    db.session.commit()
    return name


def _name_is_free(name: str) -> None:
    taken = db.session.scalar(
        select(WorkflowTemplate.id).where(func.lower(WorkflowTemplate.name) == name.lower())
    )
    if taken is not None or any(t.title.lower() == name.lower() for t in builtin_templates()):
        raise Invalid("name", f"There already is a template named {name!r}: choose another name.")


def _shareable_document(workflow: Workflow) -> dict:
    document = export.export_document(workflow)
    for job in document["jobs"].values():
        job["credential"] = None
    for trigger in document["triggers"].values():
        trigger.pop("custom_path", None)
    return document


def _secret_scrubber(project_id: uuid.UUID, workflow: Workflow) -> Scrubber:
    masker = credential_store.display_masker(
        project_id, {s.credential_id for s in workflow.steps if s.credential_id}
    )
    webhook_keys = [
        decrypt_text(t.webhook_secret_encrypted)
        for t in workflow.triggers
        if t.webhook_secret_encrypted
    ]
    return Scrubber([*masker.secrets, *webhook_keys])


def _last_input_id(workflow_id: uuid.UUID) -> uuid.UUID | None:
    return db.session.scalar(
        select(Run.dataclip_id)
        .where(Run.workflow_id == workflow_id, Run.dataclip_id.isnot(None))
        .order_by(Run.inserted_at.desc())
        .limit(1)
    )


def _sample(project_id: uuid.UUID, workflow_id: uuid.UUID, choice: str) -> dict | None:
    choice = (choice or NO_SAMPLE).strip()
    if choice == NO_SAMPLE:
        return None
    if choice == LAST_INPUT:
        dataclip_id = _last_input_id(workflow_id)
        if dataclip_id is None:
            raise Invalid("sample", "This workflow has not run yet: choose a saved input or none.")
    else:
        try:
            dataclip_id = uuid.UUID(choice)
        except ValueError:
            raise Invalid("sample", "Choose one of the inputs listed.") from None
    clip = db.session.get(Dataclip, dataclip_id)
    if clip is None or clip.project_id != project_id:
        raise Invalid("sample", "Choose one of the inputs listed.")
    if choice != LAST_INPUT and clip.type is not DataclipType.SAVED_INPUT:
        raise Invalid("sample", "Choose one of the inputs listed.")
    body = run_panel.dataclip_body(project_id, dataclip_id)
    if clip.type is DataclipType.HTTP_REQUEST:
        # A webhook request's headers and query stay behind: only what the steps read is kept.
        return {"data": body.get("data")}
    return body if isinstance(body, dict) else {"data": body}
