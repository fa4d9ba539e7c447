"""Webhook -> work order -> run -> steps, with real gunicorn, RQ workers, Redis and PostgreSQL."""

from __future__ import annotations

import textwrap

from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order


def workflow_yaml(
    name: str,
    jobs: dict[str, tuple[str, str]],
    edges: list[tuple],
    *,
    reply: str = "before_start",
    concurrency: int | None = None,
) -> str:
    """A document: jobs {key: (adaptor, body)}, edges [(source, target, condition, expr)]."""
    lines = [f"name: {name}"]
    if concurrency:
        lines.append(f"concurrency: {concurrency}")
    lines += ["triggers:", "  hook:", "    type: webhook", f"    webhook_reply: {reply}", "jobs:"]
    for key, (adaptor, body) in jobs.items():
        lines += [f"  {key}:", f"    name: {key}", f"    adaptor: {adaptor}", "    body: |"]
        lines += ["      " + line for line in textwrap.dedent(body).strip().splitlines()]
    lines.append("edges:")
    for source, target, condition, expression in edges:
        lines.append(f"  {source}->{target}:")
        kind = "source_trigger" if source == "hook" else "source_job"
        lines += [
            f"    {kind}: {source}",
            f"    target_job: {target}",
            f"    condition_type: {condition}",
        ]
        if expression:
            lines.append(f"    condition_expression: {expression!r}")
    return "\n".join(lines) + "\n"


def test_webhook_run_succeeds_with_steps_dataclips_and_logs(stack):
    document = workflow_yaml(
        "Two steps",
        {
            "double": (
                "common@1",
                """
            log("doubling", S.data["n"])
            fn(lambda state: {**state, "data": {"n": state["data"]["n"] * 2}})
        """,
            ),
            "label": (
                "common@1",
                """
            fn(lambda state: {**state, "data": {**state["data"], "label": "done"}})
        """,
            ),
        },
        [("hook", "double", "always", None), ("double", "label", "on_job_success", None)],
    )
    workflow = new_workflow(stack, document)
    accepted = post_webhook(stack, workflow["triggers"]["hook"], {"n": 21})
    assert accepted.status_code == 200
    result = wait_for_work_order(stack, accepted.json()["work_order_id"])
    assert result["state"] == "success"
    assert [s["name"] for s in result["steps"]] == ["double", "label"]
    assert result["steps"][0]["input"] == {"n": 21}
    assert result["steps"][0]["output"]["data"] == {"n": 42}
    assert result["steps"][1]["output"]["data"] == {"n": 42, "label": "done"}
    assert ("job", "info", "doubling 21") in result["logs"]


def test_failing_step_is_handled_by_an_on_failure_edge(stack):
    document = workflow_yaml(
        "Failure path",
        {
            "risky": ("common@1", 'fn(lambda state: state["data"]["missing"])'),
            "recover": ("common@1", 'fn(lambda state: {**state, "data": {"recovered": True}})'),
            "never": ("common@1", "fn(lambda state: state)"),
        },
        [
            ("hook", "risky", "always", None),
            ("risky", "recover", "on_job_failure", None),
            ("risky", "never", "on_job_success", None),
        ],
    )
    workflow = new_workflow(stack, document)
    accepted = post_webhook(stack, workflow["triggers"]["hook"], {})
    result = wait_for_work_order(stack, accepted.json()["work_order_id"])
    assert [(s["name"], s["exit_reason"]) for s in result["steps"]] == [
        ("risky", "failed"),
        ("recover", "success"),
    ]
    assert "missing" in result["steps"][0]["error_message"]
    assert result["steps"][1]["input"]["errors"][workflow["steps"]["risky"]]["message"]
    assert result["state"] == "success"  # the failure was handled, the leaf succeeded


def test_unhandled_failure_fails_the_run(stack):
    document = workflow_yaml(
        "Unhandled",
        {
            "risky": ("common@1", 'assert_(False, "the clinic id is missing")'),
        },
        [("hook", "risky", "always", None)],
    )
    workflow = new_workflow(stack, document)
    result = wait_for_work_order(
        stack, post_webhook(stack, workflow["triggers"]["hook"], {}).json()["work_order_id"]
    )
    assert result["state"] == "failed"
    assert "the clinic id is missing" in result["runs"][0]["error_message"]


def test_expression_edges_choose_the_branch(stack):
    document = workflow_yaml(
        "Branching",
        {
            "check": ("common@1", "fn(lambda state: state)"),
            "big": ("common@1", 'fn(lambda state: {**state, "data": "big"})'),
            "small": ("common@1", 'fn(lambda state: {**state, "data": "small"})'),
        },
        [
            ("hook", "check", "always", None),
            ("check", "big", "expression", "state['data']['amount'] > 100"),
            ("check", "small", "expression", "state['data']['amount'] <= 100"),
        ],
    )
    workflow = new_workflow(stack, document)
    result = wait_for_work_order(
        stack,
        post_webhook(stack, workflow["triggers"]["hook"], {"amount": 500}).json()["work_order_id"],
    )
    assert [s["name"] for s in result["steps"]] == ["check", "big"]


def test_fan_out_gives_each_branch_its_own_copy(stack):
    document = workflow_yaml(
        "Fan out",
        {
            "start": ("common@1", 'fn(lambda state: {**state, "data": {"items": [1]}})'),
            "left": (
                "common@1",
                'fn(lambda s: {**s, "data": {"items": s["data"]["items"] + ["left"]}})',
            ),
            "right": (
                "common@1",
                'fn(lambda s: {**s, "data": {"items": s["data"]["items"] + ["right"]}})',
            ),
        },
        [
            ("hook", "start", "always", None),
            ("start", "left", "always", None),
            ("start", "right", "always", None),
        ],
    )
    workflow = new_workflow(stack, document)
    result = wait_for_work_order(
        stack, post_webhook(stack, workflow["triggers"]["hook"], {}).json()["work_order_id"]
    )
    outputs = {s["name"]: s["output"]["data"]["items"] for s in result["steps"]}
    assert outputs == {"start": [1], "left": [1, "left"], "right": [1, "right"]}
    assert result["state"] == "success"


def test_sync_reply_answers_with_the_final_data(stack):
    document = workflow_yaml(
        "Sync",
        {
            "answer": (
                "common@1",
                'fn(lambda s: {**s, "data": {"greeting": "hello " + s["data"]["name"]}})',
            ),
        },
        [("hook", "answer", "always", None)],
        reply="after_completion",
    )
    workflow = new_workflow(stack, document)
    response = post_webhook(stack, workflow["triggers"]["hook"], {"name": "Amina"})
    assert response.status_code == 200
    assert response.json() == {"greeting": "hello Amina"}


def test_sync_reply_with_a_custom_response_and_on_failure(stack):
    document = workflow_yaml(
        "Sync custom",
        {
            "answer": (
                "common@1",
                """
            fn_if(lambda state: state["data"].get("fail"), fn(lambda state: state["nope"]))
            fn(lambda state: {**state, "webhook_response": {"status": 201, "body": {"ok": True}}})
        """,
            ),
        },
        [("hook", "answer", "always", None)],
        reply="after_completion",
    )
    workflow = new_workflow(stack, document)
    created = post_webhook(stack, workflow["triggers"]["hook"], {})
    assert created.status_code == 201 and created.json() == {"ok": True}
    failed = post_webhook(stack, workflow["triggers"]["hook"], {"fail": True})
    assert failed.status_code == 422
    body = failed.json()
    assert body["state"] == "failed" and "data" not in body and body["work_order_id"]
