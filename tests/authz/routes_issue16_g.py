"""Matrix entries for issue 16's OpenFn import: like creating a project, any signed-in user
may import one (they become its owner), in the browser and through the API."""

from __future__ import annotations

from tests.authz.rules import Rule

API = {"api": True}

ROUTES = {
    "projects.openfn_form": Rule("signed_in"),
    "projects.openfn_preview": Rule("signed_in", data={"document": "name: Matrix\n"}),
    "projects.openfn_create": Rule("signed_in", data={"document": "name: Matrix\n"}),
    "api.import_openfn_project": Rule("signed_in", query={"dry_run": "true"}, **API),
}
