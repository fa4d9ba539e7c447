"""The retention policy's rules: the allowed periods, bodies never longer than history, and
how much a policy leaves for the purge, in words."""

from __future__ import annotations

import pytest

from app.services.errors import Invalid
from app.services.retention import policy
from tests import history_factories as made


@pytest.mark.parametrize(("text", "days"), [("7", 7), ("365", 365), ("forever", None), ("", None)])
def test_the_listed_periods_are_read(text, days):
    assert policy.parse_choice("history_retention_days", text) == days


@pytest.mark.parametrize("text", ["8", "0", "-7", "7.0", "\uff17", "1" * 40])
def test_anything_else_is_refused_naming_the_choices(text):
    with pytest.raises(Invalid) as refused:
        policy.parse_choice("history_retention_days", text)
    assert refused.value.field == "history_retention_days"
    assert "Choose one of: 7 days" in refused.value.message


def test_bodies_may_be_kept_as_long_as_history_but_no_longer():
    policy.check(30, 30)
    policy.check(None, None)
    policy.check(None, 7)
    for bodies in (90, None):
        with pytest.raises(Invalid):
            policy.check(30, bodies)


def test_the_preview_counts_what_the_purge_would_remove(flow, project):
    for _ in range(2):
        made.work_order(flow, received=made.at(days_ago=40))
    made.work_order(flow, received=made.at(days_ago=1))
    preview = policy.preview(project.id, 30, 30)
    assert (preview.work_orders, preview.bodies) == (2, 2)
    assert preview.sentence() == "2 work orders to delete and 2 stored inputs or outputs to wipe"
    assert policy.preview(project.id, None, None).sentence().startswith("0 work orders")
    one = policy.Preview(work_orders=1, bodies=1)
    assert one.sentence() == "1 work order to delete and 1 stored input or output to wipe"
