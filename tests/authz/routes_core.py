"""Matrix entries for the routes that existed before issue 13: projects, workflows and the
Studio, history and runs, credentials, the API, webhooks, OAuth clients and the small pages."""

from __future__ import annotations

from tests.authz.rules import Rule

API = {"api": True}
# Only the credential's owner may change, share, transfer or delete it; superusers too get 403
# (secrets belong to people, not to the instance). Members who can see it get 403 as well.
OWNER_ONLY = {role: 403 for role in ("viewer", "editor", "admin", "superuser")}
CREDENTIAL_OWNER = Rule("owner", expect=OWNER_ONLY, note="the credential's owner")
# A transfer link works for its recipient (world.editor) alone; for anyone else it is a 404.
TRANSFER_RECIPIENT = Rule(
    "signed_in",
    expect={role: 404 for role in ("outsider", "viewer", "admin", "owner", "superuser")},
    params={"token": lambda world: world.transfer_token},
    note="the recipient of the transfer only",
)

ROUTES = {
    # Sign-in, health, webhooks, browser reports: for everyone.
    "auth.login": Rule("public"),
    "auth.authenticate": Rule("public"),
    "auth.logout": Rule("signed_in"),
    "health.check": Rule("public"),
    "security.csp_report": Rule("public"),
    "webhooks.describe": Rule("public"),
    "webhooks.receive": Rule("public"),
    # Projects.
    "projects.index": Rule("signed_in"),
    "projects.new": Rule("signed_in"),
    "projects.create": Rule("signed_in"),
    "projects.show": Rule("viewer"),
    "dashboard.show": Rule("viewer"),
    # Workflows and the Studio.
    "workflows.index": Rule("viewer"),
    "workflows.new": Rule("editor"),
    "workflows.create": Rule("editor"),
    "workflows.import_yaml": Rule("editor"),
    "workflows.rename_form": Rule("editor"),
    "workflows.rename": Rule("editor"),
    "workflows.delete_form": Rule("editor"),
    "workflows.delete": Rule("editor"),
    "workflows.set_enabled": Rule("editor"),
    "workflows.export": Rule("viewer"),
    "workflows.builder": Rule("viewer"),
    "workflows.save": Rule("editor"),
    "workflows.validate": Rule("viewer", note="checks the unsaved canvas; stores nothing"),
    "workflows.cron_preview": Rule("viewer"),
    "workflows.webhook_auth_form": Rule("admin"),
    "workflows.webhook_auth": Rule("admin"),
    "workflows.adaptor_docs": Rule("viewer"),
    "workflows.request_form": Rule("editor"),
    "workflows.reopen_line": Rule("editor"),
    "workflows.request_line": Rule("editor"),
    "workflows.input_paths": Rule("viewer"),
    "workflows.start_run": Rule("editor"),
    "workflows.run_status": Rule("viewer"),
    "workflows.step_tab": Rule("viewer"),
    "workflows.inputs": Rule("viewer"),
    "workflows.save_input": Rule("editor"),
    # History and runs.
    "history.index": Rule("viewer"),
    "history.rows": Rule("viewer"),
    "history.count": Rule("viewer"),
    "history.newer": Rule("viewer"),
    "history.row": Rule("viewer"),
    "history.detail": Rule("viewer"),
    "history.stream": Rule("viewer"),
    "history.run": Rule("viewer"),
    "history.run_logs": Rule("viewer"),
    "history.retry": Rule("editor"),
    "history.bulk_preview": Rule("editor"),
    "history.bulk_start": Rule("editor"),
    "history.bulk_progress": Rule("editor"),
    "history.bulk_resume": Rule("editor"),
    # Credentials: personal, visible to the members of the projects they are shared into.
    "credentials.index": Rule("signed_in"),
    "credentials.project_index": Rule("viewer"),
    "credentials.new": Rule("signed_in"),
    "credentials.new_form": Rule("signed_in"),
    "credentials.create": Rule("signed_in", data={"schema": "dhis2"}),
    "credentials.show": Rule("viewer", note="members of a project it is shared into"),
    "credentials.edit": CREDENTIAL_OWNER,
    "credentials.update": CREDENTIAL_OWNER,
    "credentials.confirm_delete": CREDENTIAL_OWNER,
    "credentials.delete": CREDENTIAL_OWNER,
    "credentials.share": CREDENTIAL_OWNER,
    "credentials.confirm_unshare": CREDENTIAL_OWNER,
    "credentials.unshare": CREDENTIAL_OWNER,
    "credentials.request_transfer": CREDENTIAL_OWNER,
    "credentials.cancel_transfer": CREDENTIAL_OWNER,
    "credentials.reauthorize": Rule(
        "owner",
        expect=OWNER_ONLY,
        params={"credential_id": lambda world: world.oauth_credential.id},
        note="the credential's owner; an OAuth credential",
    ),
    "credentials.transfer": TRANSFER_RECIPIENT,
    "credentials.accept_transfer": TRANSFER_RECIPIENT,
    "credentials.new_oauth": Rule("signed_in"),
    "credentials.authorize": Rule("signed_in"),
    "credentials.oauth_callback": Rule("signed_in"),
    # Superusers only.
    "admin.oauth_clients": Rule("superuser"),
    "admin.new_oauth_client": Rule("superuser"),
    "admin.create_oauth_client": Rule("superuser"),
    "admin.edit_oauth_client": Rule("superuser"),
    "admin.update_oauth_client": Rule("superuser"),
    "admin.delete_oauth_client": Rule("superuser"),
    "outbox.index": Rule("superuser"),
    # The API (bearer tokens).
    "api.openapi_document": Rule("public", **API),
    "api.list_projects": Rule("signed_in", **API),
    "api.create_project": Rule("signed_in", **API),
    "api.list_workflows": Rule("viewer", **API),
    "api.create_workflow": Rule("editor", **API),
    "api.get_workflow": Rule("viewer", **API),
    "api.replace_workflow": Rule("editor", **API),
    "api.delete_workflow": Rule("editor", **API),
    "api.start_run": Rule("editor", **API),
    "api.get_work_order": Rule("viewer", **API),
    "api.get_run": Rule("viewer", **API),
    "api.get_logs": Rule("viewer", **API),
    "api.list_runs": Rule("viewer", **API),
    "api.retry": Rule("editor", **API),
    "api.cancel": Rule("editor", **API),
    "api.bulk_rerun": Rule("editor", **API),
    "api.bulk_rerun_progress": Rule("viewer", **API),
    "api.get_egress_allowlist": Rule("viewer", **API),
    "api.replace_egress_allowlist": Rule("admin", data={"entries": ["10.0.0.5:8080"]}, **API),
}
