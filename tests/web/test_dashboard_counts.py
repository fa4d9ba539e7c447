"""Every count on the dashboard is the number of rows the list it links to shows: follow
each link and count (issue 15: "Failed runs 2" opened a list of 1, the retried run left out
without a word)."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.models import WorkOrderState
from tests import factories
from tests import history_factories as hf

CARD = re.compile(
    r'<div class="small text-body-secondary">(?P<label>[^<]+)</div>\s*'
    r'<div class="fs-3[^>]*>(?P<count>[\d,]+)</div>\s*'
    r'<div class="small text-body-secondary">\s*<a href="(?P<href>[^"]+)"'
)
LINKED_COUNT = re.compile(
    r'<a (?:class="small" )?href="(?P<href>[^"]+)" data-opens-list data-count="(?P<count>\d+)"'
)


@pytest.fixture
def project(user, db):
    return factories.project(user, "Counting clinic")


def _now() -> datetime:
    return datetime.now(UTC)


def _rows(client, href: str) -> int:
    page = client.get(html_lib.unescape(href))
    assert page.status_code == 200, href
    return len(re.findall(r'<tr id="wo-[0-9a-f-]{36}"', page.get_data(as_text=True)))


def _history(db, flows):
    sync, stock = flows
    now = _now()
    # Retried: the first run failed, the retry succeeded, so the work order is a success.
    retried = hf.work_order(sync, state="failed", received=now - timedelta(hours=2))
    hf.add_run(retried, "success", at_=now - timedelta(hours=1, minutes=59))
    retried.state = WorkOrderState.SUCCESS
    db.session.commit()
    # Failed twice: two failed runs, one failed work order.
    twice = hf.work_order(sync, state="failed", received=now - timedelta(hours=3))
    hf.add_run(twice, "failed", at_=now - timedelta(hours=2, minutes=50))
    hf.work_order(stock, state="crashed", received=now - timedelta(hours=1))
    hf.work_order(stock, state="success", received=now - timedelta(minutes=30))
    # Just before the 24-hour period began (same calendar day most hours of the day).
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    hf.work_order(stock, state="failed", received=since - timedelta(minutes=5))
    return since


def test_each_dashboard_count_equals_the_rows_its_link_opens(signed_in, project, db):
    flows = hf.workflow(project, "Patient sync"), hf.workflow(project, "Stock levels")
    _history(db, flows)
    page = signed_in.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    cards = list(CARD.finditer(page))
    assert {c["label"].strip() for c in cards} >= {"Work orders"}
    assert any("Failed" in c["label"] for c in cards)
    for card in cards:
        count = int(card["count"].replace(",", ""))
        assert _rows(signed_in, card["href"]) == count, card["label"]
    linked = list(LINKED_COUNT.finditer(page))
    assert len(linked) >= 4  # failures per workflow, and each workflow's history
    for link in linked:
        assert _rows(signed_in, link["href"]) == int(link["count"]), link["href"]


def test_failed_runs_left_out_of_the_list_are_said_in_words(signed_in, project, db):
    flows = hf.workflow(project, "Patient sync"), hf.workflow(project, "Stock levels")
    _history(db, flows)
    page = signed_in.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    failed = next(c for c in CARD.finditer(page) if "Failed" in c["label"])
    assert failed["label"].strip() == "Failed work orders" and failed["count"] == "2"
    # 4 failed runs: the retried one, twice in one work order, and the crash.
    assert "4 failed runs in all (2 retried since)" in page


def test_the_dashboard_period_shows_on_the_list_with_a_way_out(signed_in, project, db):
    flows = hf.workflow(project, "Patient sync"), hf.workflow(project, "Stock levels")
    _history(db, flows)
    page = signed_in.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    href = html_lib.unescape(next(CARD.finditer(page))["href"])
    listing = signed_in.get(href).get_data(as_text=True)
    assert "the dashboard&#39;s period" in listing or "the dashboard's period" in listing
    assert _rows(signed_in, href) == 4
    everything = re.search(r'<a href="([^"]+)">Show every date</a>', listing).group(1)
    assert _rows(signed_in, everything) == 5


@pytest.mark.parametrize("since", ["yesterday", "2024-13-01T00:00", "0001-01-01T00:00", "x\x00"])
def test_a_bad_since_says_what_to_fix(signed_in, project, since):
    response = signed_in.get(f"/projects/{project.id}/history", query_string={"since": since})
    assert response.status_code in {400, 422}
    if response.status_code == 422:  # (a NUL is refused before any page is drawn)
        text = response.get_data(as_text=True)
        assert "YYYY-MM-DDTHH:MM" in text or "Choose a moment" in text


def test_the_filter_form_keeps_the_dashboards_period(signed_in, project):
    since = "2026-01-05T07:00"
    page = signed_in.get(f"/projects/{project.id}/history", query_string={"since": since})
    assert page.status_code == 200
    assert f'<input type="hidden" name="since" value="{since}">' in page.get_data(as_text=True)
    plain = signed_in.get(f"/projects/{project.id}/history").get_data(as_text=True)
    assert 'name="since"' not in plain
