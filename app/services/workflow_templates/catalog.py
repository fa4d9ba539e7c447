"""Every template offered on "Create workflow": Ferry's own, then the saved ones by name."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import User, WorkflowTemplate
from app.services import adaptor_catalog
from app.services.credentials import forms
from app.services.errors import NotFound
from app.services.parsing import load_json, load_yaml
from app.services.workflow_templates.builtin import Setting, builtin_templates

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
NO_SUCH_TEMPLATE = "There is no such template: it may have been deleted."


@dataclass(frozen=True)
class CredentialSlot:
    """A step of a template that talks to a system and so may need a credential."""

    job_key: str
    step_name: str
    schema: str  # the adaptor's name, which is also its credential type
    type_label: str  # "DHIS2", "HTTP"


@dataclass(frozen=True)
class Template:
    """A template as "Create workflow" shows and uses it."""

    key: str  # a built-in's slug, or a saved template's id
    title: str
    description: str
    setup: str
    document: dict
    sample_input: dict | None
    builtin: bool
    settings: tuple[Setting, ...] = ()
    schema_sql: str | None = None
    saved_by: str | None = None
    saved_by_id: uuid.UUID | None = None
    saved_at: datetime | None = None

    @property
    def trigger_kinds(self) -> list[str]:
        """ "webhook" and/or "cron", for the card's badges."""
        triggers = self.document.get("triggers") or {}
        return sorted({str(t.get("type")) for t in triggers.values() if isinstance(t, dict)})

    @property
    def step_names(self) -> list[str]:
        """The steps in document order, for the card."""
        jobs = self.document.get("jobs") or {}
        return [str(j.get("name") or k) for k, j in jobs.items() if isinstance(j, dict)]

    @property
    def credential_slots(self) -> list[CredentialSlot]:
        """The steps whose adaptor has a credential type (all but `common`)."""
        slots = []
        for key, job in (self.document.get("jobs") or {}).items():
            name = str(job.get("adaptor") or "").split("@", 1)[0]
            spec = adaptor_catalog.spec(name) if name else None
            if spec and spec.get("credential_schema", {}).get("properties"):
                label = forms.type_label(name)
                slots.append(CredentialSlot(key, str(job.get("name") or key), name, label))
        return slots


def all_templates() -> list[Template]:
    """Ferry's templates in page order, then the instance's saved ones by name."""
    rows = db.session.execute(
        select(WorkflowTemplate, User)
        .outerjoin(User, User.id == WorkflowTemplate.created_by_id)
        .order_by(WorkflowTemplate.name)
    )
    saved = [_of_row(row, creator) for row, creator in rows]
    return [_of_builtin(t) for t in builtin_templates()] + saved


def get_template(key: str) -> Template:
    """The template with this slug or id, or NotFound (crafted keys included)."""
    key = (key or "").strip()
    try:
        template_id = uuid.UUID(key)
    except ValueError:
        template_id = None
    if template_id is not None:
        row = db.session.get(WorkflowTemplate, template_id)
        if row is None:
            raise NotFound(NO_SUCH_TEMPLATE)
        creator = db.session.get(User, row.created_by_id) if row.created_by_id else None
        return _of_row(row, creator)
    if SLUG.match(key):
        for builtin in builtin_templates():
            if builtin.slug == key:
                return _of_builtin(builtin)
    raise NotFound(NO_SUCH_TEMPLATE)


def _of_builtin(builtin) -> Template:
    return Template(
        key=builtin.slug,
        title=builtin.title,
        description=builtin.description,
        setup=builtin.setup,
        document=builtin.document,
        sample_input=builtin.sample_input,
        builtin=True,
        settings=builtin.settings,
        schema_sql=builtin.schema_sql,
    )


def _of_row(row: WorkflowTemplate, creator: User | None) -> Template:
    document = load_yaml(row.document, field="document", what="The template's document")
    sample = None
    if row.sample_input:
        sample = load_json(row.sample_input, field="sample_input", what="The sample input")
    return Template(
        key=str(row.id),
        title=row.name,
        description=row.description or "",
        setup="",
        document=document if isinstance(document, dict) else {},
        sample_input=sample if isinstance(sample, dict) else None,
        builtin=False,
        saved_by=creator.display_name if creator else "a former user",
        saved_by_id=row.created_by_id,
        saved_at=row.inserted_at,
    )
