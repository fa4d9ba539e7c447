"""Searching never finds a run by a credential value: pages show those values masked, so a
search matches what the pages show (the stored text with every secret masked), never the
secret itself, nor a part of it, nor a term running from visible text into it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Run
from app.services.credentials import store
from app.services.history import listing, run_page
from app.services.history.filters import HistoryFilter
from tests import factories
from tests import history_factories as hf

SECRET = "pa55-Word-that-leaked-9f3k"
EVERYWHERE = ("id", "input", "logs")


@pytest.fixture
def leaky(project, user, db):
    """A work order whose input body and log lines hold a shared credential's password (as
    if the runtime's scrubbing had missed it), beside a clean one."""
    factories.shared_dhis2_credential(user, project, SECRET)
    flow = hf.workflow(project, "Patient sync")
    hf.work_order(flow, body={"patient": "Kofi"}, logs=[("info", "nothing secret here")])
    return hf.work_order(
        flow,
        body={"patient": "Amina Diallo", "token": SECRET},
        logs=[("info", f"signing in with admin:{SECRET} now"), ("error", "DHIS2 said 401")],
    )


def found(project, text: str, places=EVERYWHERE) -> list:
    filters = HistoryFilter(text=text, places=places)
    rows = listing.list_page(project.id, filters).rows
    assert listing.count_matching(project.id, filters).value == len(rows)
    return [row.id for row in rows]


@pytest.mark.parametrize(
    "term",
    [
        SECRET,
        SECRET.upper(),
        "Word-that-leaked",  # a part of it, whole words
        "leaked",
        "eak",  # a part of one word
        "admin:pa5",  # visible text running into it
        "with admin:p",  # by one character
        "d-9f3k now",  # and out of it
        '"token": "pa55',
    ],
)
def test_a_credential_value_or_part_of_it_finds_nothing(project, leaky, term):
    assert found(project, term) == []
    assert found(project, term, places=("input",)) == []
    assert found(project, term, places=("logs",)) == []


def test_other_text_of_the_same_body_and_logs_still_finds_it(project, leaky):
    assert found(project, "Amina Diallo", places=("input",)) == [leaky.id]
    assert found(project, "signing in with admin:", places=("logs",)) == [leaky.id]
    assert found(project, "DHIS2 said 401", places=("logs",)) == [leaky.id]
    # The mask is what the pages show, so it can be searched for like any shown text.
    assert found(project, "admin:*** now", places=("logs",)) == [leaky.id]


def test_a_credential_not_shared_but_used_by_a_step_is_masked_in_search_too(project, user, db):
    credential = store.create_credential(
        user,
        "Kept to a step",
        "dhis2",
        {"body.base_url": ["https://x.example.org"], "body.password": ["st3p-only-Qx71"]},
    )
    flow = hf.workflow(project, "Stock levels")
    step = flow.steps[0]
    step.credential_id = credential.id
    db.session.commit()
    hf.work_order(flow, body={"login": "st3p-only-Qx71 please"})
    assert found(project, "st3p-only-Qx71") == []
    assert found(project, "only-Qx", places=("input",)) == []
    assert found(project, "please") != []


def test_the_run_pages_log_search_never_matches_a_credential_value(project, leaky, db):
    run = db.session.scalar(select(Run).where(Run.work_order_id == leaky.id))
    assert run_page.run_logs(project.id, run.id, text=SECRET).lines == []
    assert run_page.run_logs(project.id, run.id, text="leaked").lines == []
    shown = run_page.run_logs(project.id, run.id, text="signing in").lines
    assert [line.message for line in shown] == ["signing in with admin:*** now"]
