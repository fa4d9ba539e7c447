"""Collections through the whole stack: a webhook run on a real RQ worker remembers what it
saw in a collection (over the stack's own HTTP API, from the sandbox), and the next run
reads it back."""

from __future__ import annotations

from app.extensions import db
from app.services.collections import items, store
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order

REMEMBER = """
name: Remember patients
triggers:
  hook:
    type: webhook
jobs:
  remember:
    name: remember
    adaptor: common@1
    body: |
      fn(lambda state: {**state, "id": state["data"]["id"]})
      collections.get("seen", S.id)
      fn(lambda state: {**state, "before": state["data"]})
      collections.set("seen", S.id, {"visits": ((S.before or {}).get("visits") or 0) + 1})
      collections.get("seen", "p-*")
edges:
  hook->remember:
    source_trigger: hook
    target_job: remember
"""


def test_a_second_run_reads_what_the_first_one_stored(stack):
    flow = new_workflow(stack, REMEMBER)
    with stack.app.app_context():
        store.create_collection(flow["project_id"], "seen")
        db.session.remove()
    first = post_webhook(stack, flow["triggers"]["hook"], {"id": "p-1"})
    done = wait_for_work_order(stack, first.json()["work_order_id"])
    assert done["state"] == "success", done
    assert done["steps"][0]["output"]["before"] is None
    second = post_webhook(stack, flow["triggers"]["hook"], {"id": "p-1"})
    again = wait_for_work_order(stack, second.json()["work_order_id"])
    assert again["state"] == "success", again
    output = again["steps"][0]["output"]
    assert output["before"] == {"visits": 1}
    assert output["data"] == [{"key": "p-1", "value": {"visits": 2}}]
    with stack.app.app_context():
        assert items.get_item(flow["project_id"], "seen", "p-1").value == {"visits": 2}
        db.session.remove()
