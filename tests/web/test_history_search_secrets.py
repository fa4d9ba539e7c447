"""The history page and the run page's log search never find a run by a credential value:
the answer for a secret looks exactly like the answer for text that occurs nowhere."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models import Run
from tests import factories
from tests import history_factories as hf

SECRET = "pa55-Word-that-leaked-9f3k"
NOWHERE = "zq81-Nope-that-matches-0x0x"  # as long as SECRET, in no body or log


@pytest.fixture
def leaky(project, user, db):
    """A work order whose input and logs hold a shared credential's password."""
    factories.shared_dhis2_credential(user, project, SECRET)
    flow = hf.workflow(project, "Patient sync")
    return hf.work_order(
        flow,
        body={"patient": "Amina Diallo", "token": SECRET},
        logs=[("info", f"signing in with admin:{SECRET}")],
    )


def history(client, project, fragment: str = "", **args) -> str:
    response = client.get(
        f"/projects/{project.id}/history{fragment}",
        query_string={"in": ["id", "input", "logs"], **args},
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_searching_the_history_for_a_credential_value_finds_nothing(signed_in, project, leaky):
    for fragment in ("", "/rows", "/count"):
        secret = history(signed_in, project, fragment, q=SECRET)
        nowhere = history(signed_in, project, fragment, q=NOWHERE)
        assert str(leaky.id) not in secret
        # Nothing on the page tells the secret from a text that occurs nowhere.
        assert secret.replace(SECRET, "TERM") == nowhere.replace(NOWHERE, "TERM"), fragment
    assert "0 work orders" in history(signed_in, project, "/count", q=SECRET)


def test_other_text_of_the_same_input_and_logs_still_finds_it(signed_in, project, leaky):
    for text in ("Amina Diallo", "signing in with admin"):
        assert f'id="wo-{leaky.id}"' in history(signed_in, project, q=text), text


def test_the_run_pages_log_search_never_matches_a_credential_value(signed_in, project, leaky, db):
    run = db.session.scalar(select(Run).where(Run.work_order_id == leaky.id))
    base = f"/projects/{project.id}/runs/{run.id}/logs?logs=all"
    secret = signed_in.get(f"{base}&log_q={SECRET}").get_data(as_text=True)
    assert "signing in" not in secret and SECRET not in re.sub(r'value="[^"]*"', "", secret)
    found = signed_in.get(f"{base}&log_q=signing").get_data(as_text=True)
    assert "signing in with admin:***" in found
