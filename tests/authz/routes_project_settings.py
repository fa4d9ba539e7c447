"""Matrix entries for the project settings page and the builder's egress warning."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    # Every member reads the settings; admins change them; the owner alone deletes the
    # project (the matrix posts no name, so the owner's delete is a 422, never a deletion).
    "project_settings.show": Rule("viewer"),
    "project_settings.update_details": Rule("admin"),
    "project_settings.update_egress": Rule("admin"),
    "project_settings.update_mfa": Rule("admin"),
    "project_settings.delete": Rule("owner"),
    # Why a step would be refused its addresses: any member may see it (viewers read steps).
    "workflows.egress_warnings_fragment": Rule("viewer", data={"body": 'get("http://10.0.0.1/")'}),
}
