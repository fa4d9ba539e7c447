"""Matrix entries for issue 15's templates: using one (editors, like creating a workflow),
saving a workflow as a template (project admins), deleting a saved template (its saver or a
superuser; other members who may create workflows get 403)."""

from __future__ import annotations

from app.services.workflow_templates import saving
from tests.authz.rules import Rule


def _saved_by_owner(world):
    """A template saved from the world's workflow by the project's owner."""
    row = saving.save_as_template(
        world.project.id, world.workflow.id, world.owner.id, name="Authz template"
    )
    return row.id


SAVER_ONLY = {"editor": 403, "admin": 403}

ROUTES = {
    # A template is the instance's, not a project's: any project's editors may use it.
    "workflows.use_template_form": Rule("editor", cross_project=False),
    "workflows.use_template": Rule("editor", data={"name": "From a template"}, cross_project=False),
    "workflows.save_as_template_form": Rule("admin"),
    "workflows.save_as_template": Rule("admin", data={"name": "Saved by the matrix"}),
    "workflows.delete_template_form": Rule(
        "editor",
        expect=SAVER_ONLY,
        cross_project=False,  # templates belong to the instance, not to a project
        note="the template's saver (owner) or a superuser",
    ),
    "workflows.delete_template": Rule(
        "editor",
        expect=SAVER_ONLY,
        cross_project=False,  # templates belong to the instance, not to a project
        note="the template's saver (owner) or a superuser",
    ),
}
PARAMS = {
    "template_key": lambda world: "webhook-to-dhis2",
    "template_id": _saved_by_owner,
}
