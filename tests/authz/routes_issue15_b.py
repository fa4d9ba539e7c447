"""Matrix entries for issue 15's data mapper: the samples a step can be mapped from, the chosen
sample as a tree, and the preview of the request (editors: only they see the request builder)."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "workflows.sample_choices": Rule("editor"),
    "workflows.sample_tree": Rule("editor", note="reads a sample; stores nothing"),
    "workflows.request_preview": Rule("editor", note="works out a request; sends nothing"),
}
