"""How the builder presents a workflow to its JavaScript: document, ids, URLs, choices."""

from __future__ import annotations

from flask import current_app, url_for

from app.models import Role, Trigger, Workflow
from app.services import adaptor_catalog
from app.services.errors import NotFound
from app.services.studio import canvas
from app.services.workflows import export, retries
from app.web import filters
from app.web.access import ProjectAccess


def webhook_url(trigger: Trigger) -> str:
    """The full URL source systems POST to."""
    base = current_app.config["FERRY_SETTINGS"].base_url
    return base + url_for("webhooks.receive", reference=trigger.custom_path or str(trigger.id))


def webhook_urls(workflow: Workflow) -> list[tuple[str, str]]:
    """Each saved webhook trigger's key and URL (the workflow list offers them to copy)."""
    hooks = [t for t in workflow.triggers if t.type.value == "webhook"]
    return [(t.key, webhook_url(t)) for t in sorted(hooks, key=lambda t: t.key)]


def workflow_json(workflow: Workflow) -> dict:
    """The saved workflow as the canvas needs it after loading or saving."""
    words = canvas.trigger_words(workflow, filters.time_format())
    return {
        "lock_version": workflow.lock_version,
        "name": workflow.name,
        "document": export.export_document(workflow),
        "positions": workflow.positions or {},
        "triggers": {
            t.key: {
                "id": str(t.id),
                "type": t.type.value,
                "url": webhook_url(t) if t.type.value == "webhook" else None,
                "auth": t.webhook_auth.value,
                "username": t.webhook_username,
                # The schedule in words for the canvas label (see _trigger_panel.html).
                "schedule": {
                    "expression": " ".join(t.cron_expression.split()),
                    "timezone": t.cron_timezone,
                    "words": words[t.key],
                }
                if t.key in words
                else None,
            }
            for t in workflow.triggers
        },
        "steps": {s.key: str(s.id) for s in workflow.steps},
    }


def adaptor_choices() -> list[dict]:
    """Each adaptor with the versions a step may pin (major, or latest)."""
    choices = []
    for name in adaptor_catalog.adaptor_names():
        spec = adaptor_catalog.spec(name) or {}
        version = str(spec.get("version", "1"))
        choices.append(
            {
                "name": name,
                "label": spec.get("label", name),
                "version": version,
                "versions": [version.split(".")[0], "latest"],
                "operations": [op["name"] for op in spec.get("operations", [])],
            }
        )
    return choices


def builder_data(access: ProjectAccess, workflow: Workflow, credentials: list) -> dict:
    """Everything the canvas script starts from, embedded in the page as JSON."""
    ids = {"project_id": access.project.id, "workflow_id": workflow.id}
    return {
        **workflow_json(workflow),
        "can_edit": access.can(Role.EDITOR),
        "can_admin": access.can(Role.ADMIN),
        # The instance's webhook rate limit, shown where a trigger may set its own.
        "webhook_default_limit": current_app.config["FERRY_SETTINGS"].webhook_requests_per_minute,
        "adaptors": adaptor_choices(),
        "retry": retries.studio_settings(),  # the Retries sections (studio/retries.js)
        "credentials": [
            {
                "name": c.name,
                "schema": c.schema,
                "type_label": c.type_label,
                "production": c.production,
            }
            for c in credentials
        ],
        # The rest of the builder's URLs are in its templates, on the elements that use them.
        "urls": {
            "save": url_for("workflows.save", **ids),
            "validate": url_for("workflows.validate", **ids),
            "cron_preview": url_for("workflows.cron_preview", project_id=access.project.id),
            "adaptor_docs": url_for("workflows.adaptor_docs", project_id=access.project.id),
            "webhook_auth": url_for("workflows.webhook_auth_form", **ids),
            "egress_warnings": url_for(
                "workflows.egress_warnings_fragment", project_id=access.project.id
            ),
        },
    }


def trigger_with_key(workflow: Workflow, key: str) -> Trigger | None:
    """The saved trigger the builder names by its key (None: not saved yet)."""
    return next((t for t in workflow.triggers if t.key == key), None)


def saved_trigger(workflow: Workflow, trigger_id) -> Trigger:
    """The workflow's trigger with this id; NotFound (404) for another workflow's."""
    trigger = next((t for t in workflow.triggers if t.id == trigger_id), None)
    if trigger is None:
        raise NotFound("There is no such trigger in this workflow.")
    return trigger
