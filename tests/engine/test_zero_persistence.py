"""Zero persistence with the real stack (gunicorn, RQ workers, the fork-server sandbox, Redis,
PostgreSQL): a webhook's distinctive value reaches the job code and the run succeeds, yet it
is found nowhere in the database (every column of every table) nor in the processes' logs;
the same run without zero persistence leaves it in the database, which proves the scan."""

from __future__ import annotations

import uuid

from redis import Redis
from sqlalchemy import text

from app.extensions import db
from app.models import Project
from tests.engine.conftest import LOGS
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.engine.test_runs_end_to_end import workflow_yaml

STEPS = {
    "greet": (
        "common@1",
        """
        fn(lambda state: (print("patient", state["data"]["name"]), state)[1])
        log("patient again", S.data["name"])
        """,
    ),
    "shout": (
        "common@1",
        """
        fn(lambda state: {**state, "data": {"loud": state["data"]["name"].upper()}})
        """,
    ),
}
EDGES = [("hook", "greet", "always", None), ("greet", "shout", "on_job_success", None)]


def zero_persistence_workflow(stack, *, on: bool, reply: str = "before_start") -> dict:
    workflow = new_workflow(stack, workflow_yaml("Intake", STEPS, EDGES, reply=reply))
    with stack.app.app_context():
        db.session.get(Project, workflow["project_id"]).zero_persistence = on
        db.session.commit()
        db.session.remove()
    return workflow


def places_holding(stack, value: str) -> list[str]:
    """Every table (and bytea column) of the stack's database holding `value` anywhere."""
    found = []
    with stack.app.app_context():
        tables = db.session.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).all()
        for table in tables:
            # A row cast to text holds every column: text, json(b), numbers, times.
            hits = db.session.scalar(
                text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :pattern'),  # noqa: S608
                {"pattern": f"%{value}%"},
            )
            if hits:
                found.append(table)
        # bytea shows as hex in a row's text: look inside those columns as bytes too.
        binary = db.session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type = 'bytea'"
            )
        ).all()
        for table, column in binary:
            hits = db.session.scalar(
                text(
                    f'SELECT count(*) FROM "{table}"'  # noqa: S608
                    f" WHERE position(convert_to(:value, 'UTF8') in \"{column}\") > 0"
                ),
                {"value": value},
            )
            if hits:
                found.append(f"{table}.{column}")
        db.session.remove()
    return found


def logs_holding(value: str) -> list[str]:
    return [
        path.name
        for path in LOGS.glob("*.log")
        if value in path.read_text(encoding="utf-8", errors="replace")
    ]


def distinctive() -> str:
    return f"Amina Wanjiru 1987 {uuid.uuid4().hex[:8]}"


def test_a_zero_persistence_run_leaves_its_data_nowhere(stack):
    workflow = zero_persistence_workflow(stack, on=True)
    name, in_query = distinctive(), distinctive()
    response = post_webhook(
        stack,
        workflow["triggers"]["hook"],
        {"name": name, "born": 1987},
        params={"patient": in_query},
        headers={"X-Patient": in_query},
    )
    assert response.status_code == 200, response.text
    done = wait_for_work_order(stack, response.json()["work_order_id"])
    # It ran, with the body: the second step read the name the first step passed on.
    assert done["state"] == "success" and done["runs"][0]["state"] == "success"
    assert [(s["name"], s["exit_reason"]) for s in done["steps"]] == [
        ("greet", "success"),
        ("shout", "success"),
    ]
    assert all(s["input"] is None and s["output"] is None for s in done["steps"])
    # What happened is kept; what it carried is not, anywhere.
    for value in (name, in_query, name.upper()):
        assert places_holding(stack, value) == [], value
        assert logs_holding(value) == [], value
    assert Redis.from_url(stack.redis.url).keys("ferry:zp:body:*") == []


def test_a_synchronous_reply_still_carries_the_result(stack):
    workflow = zero_persistence_workflow(stack, on=True, reply="after_completion")
    name = distinctive()
    response = post_webhook(stack, workflow["triggers"]["hook"], {"name": name})
    assert response.status_code == 200, response.text
    assert response.json() == {"loud": name.upper()}
    assert places_holding(stack, name.upper()) == []
    assert places_holding(stack, name) == []


def test_without_zero_persistence_the_scan_finds_the_value(stack):
    workflow = zero_persistence_workflow(stack, on=False)
    name = distinctive()
    response = post_webhook(stack, workflow["triggers"]["hook"], {"name": name})
    done = wait_for_work_order(stack, response.json()["work_order_id"])
    assert done["state"] == "success"
    assert {"dataclips", "log_lines"} <= set(places_holding(stack, name))
