"""Matrix entries for issue 16's project documents: any member reads the project as a
document, admins and owners apply one (the settings page and the API), and only superusers
create a project from a document through the API (others are told so: 403)."""

from __future__ import annotations

from tests.authz.rules import Rule

API = {"api": True}
NOT_SUPERUSER = {role: 403 for role in ("outsider", "viewer", "editor", "admin", "owner")}

ROUTES = {
    "project_settings.download_code": Rule("viewer"),
    "project_settings.plan_code": Rule("admin", data={"document": "name: Matrix project\n"}),
    "project_settings.apply_code": Rule("admin", data={"document": "name: Matrix project\n"}),
    "api.get_project_document": Rule("viewer", **API),
    "api.put_project_document": Rule("admin", data={"name": "Matrix project"}, **API),
    "api.create_project_document": Rule(
        "superuser",
        expect=NOT_SUPERUSER,
        data={"name": "Matrix project"},
        note="an instance-wide action: the API says who may do it",
        **API,
    ),
}
