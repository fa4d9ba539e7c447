"""Matrix entries for issue 17's signed webhooks and sub-paths: a trigger's sub-paths are as
public as the trigger's own address (callers prove themselves per trigger, not by session);
the trigger panel's signature section (settings and the secret) is for project admins, as
webhook authentication is."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "webhooks.receive_subpath": Rule("public"),
    "workflows.webhook_signature_form": Rule("admin", query={"trigger": "webhook"}),
    "workflows.webhook_signature_secret": Rule("admin", data={"secret": ""}),
}
PARAMS = {"subpath": lambda world: "Patient/123"}
