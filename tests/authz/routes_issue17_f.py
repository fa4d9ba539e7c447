"""Matrix entries for issue 17's per-project run limits: every member reads them (the
settings page, the API); admins and owners change them."""

from __future__ import annotations

from tests.authz.rules import Rule

API = {"api": True}

ROUTES = {
    # The matrix posts empty boxes: every limit back to the server's default, a 302.
    "project_settings.update_limits": Rule("admin", data={"run_timeout_s": ""}),
    "api.get_run_limits": Rule("viewer", **API),
    "api.replace_run_limits": Rule("admin", data={"run_timeout_s": 60}, **API),
}
