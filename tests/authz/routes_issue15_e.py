"""Matrix entries for issue 15's helper E: creating a credential from inside a project (an
editor's action: the credential is shared into the project) and the favicon."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "credentials.project_new": Rule("editor"),
    "credentials.project_new_form": Rule(
        "editor", params={"schema": lambda world: "dhis2"}, cross_project=False
    ),
    "credentials.project_create": Rule("editor", data={"schema": "dhis2"}),
    "favicon.icon": Rule("public"),
}
