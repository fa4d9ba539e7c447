"""NUL characters from a source system, through a real worker: PostgreSQL refuses them in
text and jsonb, so they are stored escaped (as the visible text `\\u0000`), never lose the run."""

from __future__ import annotations

from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.engine.test_runs_end_to_end import workflow_yaml

ESCAPED = "\\u0000"  # the six characters a NUL is stored as

# Raw strings: the job's own code holds the escape, so the NUL exists only at run time.
NUL_JOB = r"""
log("from the source:", "clinic\x00 42")
fn(lambda state: {**state, "data": {"na\x00me": "val\x00ue", "nested": ["a\x00"]}})
"""


def test_a_step_logging_and_returning_nul_characters_succeeds_with_them_escaped(stack):
    workflow = new_workflow(
        stack,
        workflow_yaml(
            "NUL from a source system",
            {"read": ("common@1", NUL_JOB), "next": ("common@1", "fn(lambda state: state)")},
            [("hook", "read", "always", None), ("read", "next", "on_job_success", None)],
        ),
    )
    accepted = post_webhook(stack, workflow["triggers"]["hook"], {"n": 1})
    assert accepted.status_code == 200, accepted.text
    result = wait_for_work_order(stack, accepted.json()["work_order_id"])
    assert result["state"] == "success", result["runs"][0]["error_message"]
    assert [(s["name"], s["exit_reason"]) for s in result["steps"]] == [
        ("read", "success"),
        ("next", "success"),
    ]
    stored = {"na" + ESCAPED + "me": "val" + ESCAPED + "ue", "nested": ["a" + ESCAPED]}
    assert result["steps"][0]["output"]["data"] == stored
    assert result["steps"][1]["input"]["data"] == stored, "the next step reads what was stored"
    assert ("job", "info", f"from the source: clinic{ESCAPED} 42") in result["logs"]
