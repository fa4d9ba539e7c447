"""History service: every filter alone and combined, search in each place, keyset paging."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from app.services.errors import Invalid
from app.services.history import listing
from app.services.history.filters import HistoryFilter, parse_filter
from tests import factories
from tests import history_factories as hf


@pytest.fixture
def project(user, db):
    return factories.project(user)


@pytest.fixture
def flows(project):
    return hf.workflow(project, "Patient sync"), hf.workflow(project, "Stock levels")


def ids(rows) -> list:
    return [row.id for row in rows]


def listed(project, **kwargs) -> list:
    return ids(listing.list_page(project.id, HistoryFilter(**kwargs), limit=200).rows)


def args(**values) -> MultiDict:
    return MultiDict(
        [(k, v) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])]
    )


def test_newest_first_with_workflow_trigger_and_run_facts(project, flows):
    old = hf.work_order(flows[0], received=hf.at(days_ago=2))
    new = hf.work_order(flows[1], received=hf.at(minutes_ago=5), state="failed")
    hf.add_run(new, "success")
    page = listing.list_page(project.id, HistoryFilter())
    assert ids(page.rows) == [new.id, old.id]
    top = page.rows[0]
    assert top.workflow_name == "Stock levels"
    assert (top.trigger_type, top.trigger_key) == ("webhook", "webhook")
    assert top.run_count == 2
    assert page.next_cursor is None


def test_other_projects_never_show(project, flows, db):
    other = factories.project(factories.user())
    hf.work_order(hf.workflow(other))
    mine = hf.work_order(flows[0])
    assert listed(project) == [mine.id]


@pytest.mark.parametrize(
    "state",
    [
        "pending",
        "running",
        "success",
        "failed",
        "crashed",
        "killed",
        "cancelled",
        "exception",
        "lost",
    ],
)
def test_each_state_filter(project, flows, state):
    wanted = hf.work_order(flows[0], state=state)
    others = [
        hf.work_order(flows[0], state=s) for s in ("success", "failed", "pending") if s != state
    ]
    assert listed(project, states=(state,)) == [wanted.id]
    assert set(listed(project)) == {wanted.id, *[o.id for o in others]}


def test_several_states_at_once(project, flows):
    failed = hf.work_order(flows[0], state="failed", received=hf.at(minutes_ago=3))
    crashed = hf.work_order(flows[0], state="crashed", received=hf.at(minutes_ago=2))
    hf.work_order(flows[0], state="success")
    assert listed(project, states=("failed", "crashed")) == [crashed.id, failed.id]


def test_workflow_filter(project, flows):
    mine = hf.work_order(flows[1])
    hf.work_order(flows[0])
    assert listed(project, workflow_id=flows[1].id) == [mine.id]


def test_received_date_range_includes_both_days(project, flows):
    today = date.today()
    four = hf.work_order(flows[0], received=hf.at(days_ago=4))
    two = hf.work_order(flows[0], received=hf.at(days_ago=2))
    hf.work_order(flows[0], received=hf.at(days_ago=0))
    hf.work_order(flows[0], received=hf.at(days_ago=9))
    window = {"received_from": today - timedelta(days=4), "received_to": today - timedelta(days=2)}
    assert listed(project, **window) == [two.id, four.id]
    assert len(listed(project, received_from=today - timedelta(days=5))) == 3
    assert len(listed(project, received_to=today - timedelta(days=3))) == 2


def test_last_activity_range(project, flows):
    today = date.today()
    stale = hf.work_order(flows[0], received=hf.at(days_ago=10), activity=hf.at(days_ago=10))
    retried = hf.work_order(flows[0], received=hf.at(days_ago=10), activity=hf.at(days_ago=1))
    assert listed(project, activity_from=today - timedelta(days=2)) == [retried.id]
    assert listed(project, activity_to=today - timedelta(days=5)) == [stale.id]


def test_every_combination_of_filters(project, flows):
    """Each row differs from the target in one way; each filter combination keeps the target
    and drops exactly the rows that differ in a filtered dimension."""
    today = date.today()
    base = {"state": "failed", "received": hf.at(days_ago=3), "activity": hf.at(days_ago=1)}
    target = hf.work_order(flows[0], body={"patient": "Amina Diallo"}, **base)
    variants = {
        "states": hf.work_order(
            flows[0], body={"patient": "Amina Diallo"}, **{**base, "state": "success"}
        ),
        "workflow_id": hf.work_order(flows[1], body={"patient": "Amina Diallo"}, **base),
        "received": hf.work_order(
            flows[0], body={"patient": "Amina Diallo"}, **{**base, "received": hf.at(days_ago=8)}
        ),
        "activity": hf.work_order(
            flows[0], body={"patient": "Amina Diallo"}, **{**base, "activity": hf.at(days_ago=6)}
        ),
        "text": hf.work_order(flows[0], body={"patient": "Kofi Mensah"}, **base),
    }
    dimensions = {
        "states": {"states": ("failed",)},
        "workflow_id": {"workflow_id": flows[0].id},
        "received": {
            "received_from": today - timedelta(days=4),
            "received_to": today - timedelta(days=2),
        },
        "activity": {"activity_from": today - timedelta(days=2), "activity_to": today},
        "text": {"text": "amina", "places": ("input",)},
    }
    for size in range(1, len(dimensions) + 1):
        for chosen in itertools.combinations(dimensions, size):
            kwargs = {k: v for name in chosen for k, v in dimensions[name].items()}
            expected = {target.id} | {o.id for n, o in variants.items() if n not in chosen}
            assert set(listed(project, **kwargs)) == expected, chosen


def test_search_input_bodies_json_and_raw(project, flows):
    json_hit = hf.work_order(flows[0], body={"patient": {"name": "Fatou Sow", "id": "P-0042"}})
    raw_hit = hf.work_order(flows[0], raw_body="<case><name>FATOU SOW</name></case>")
    hf.work_order(flows[0], body={"patient": {"name": "Ibrahim Fatoumata"}})
    assert set(listed(project, text="fatou", places=("input",))) == {json_hit.id, raw_hit.id}
    # The words as typed: in this order, and whole (on SQLite, any part matches).
    assert set(listed(project, text="fatou sow", places=("input",))) == {json_hit.id, raw_hit.id}
    assert listed(project, text="Sow Fatou", places=("input",)) == []
    assert listed(project, text="P-0042", places=("input",)) == [json_hit.id]
    assert listed(project, text="fatou", places=("logs",)) == []


def test_input_search_of_a_word_in_most_bodies(project, flows):
    hits = [hf.work_order(flows[0], body={"village": "Kibera", "n": n}) for n in range(12)]
    hf.work_order(flows[0], body={"village": "Mathare"})
    found = listing.list_page(project.id, HistoryFilter(text="kibera", places=("input",)), limit=5)
    assert ids(found.rows) == [h.id for h in reversed(hits)][:5]
    assert set(listed(project, text="kibera", places=("input", "id"))) == {h.id for h in hits}


def test_log_search_matches_any_part_and_takes_wildcards_literally(project, flows):
    hit = hf.work_order(flows[0], logs=[("info", "Stock at 50% in Clinic_North")])
    hf.work_order(flows[0], logs=[("info", "Stock at 5 in ClinicXNorth")])
    assert listed(project, text="k at 50%", places=("logs",)) == [hit.id]
    assert listed(project, text="clinic_n", places=("logs",)) == [hit.id]


def test_search_log_lines(project, flows):
    hit = hf.work_order(flows[0], logs=[("info", "Posted case 4711 to DHIS2")])
    hf.work_order(flows[0], logs=[("info", "Posted case 9999")], body={"case": 4711})
    assert listed(project, text="case 4711", places=("logs",)) == [hit.id]


def test_search_work_order_and_run_ids_whole_or_short(project, flows):
    order = hf.work_order(flows[0])
    other = hf.work_order(flows[0])
    run = hf.add_run(other, "failed")
    for text in (str(order.id), str(order.id)[:8], str(order.id).upper()[:13]):
        assert listed(project, text=text, places=("id",)) == [order.id], text
    assert listed(project, text=str(run.id)[:8], places=("id",)) == [other.id]
    assert listed(project, text="not-an-id", places=("id",)) == []


def test_search_places_combine_with_or(project, flows):
    by_body = hf.work_order(flows[0], body={"note": "urgent malaria"})
    by_log = hf.work_order(flows[0], logs=[("warn", "malaria threshold crossed")])
    assert set(listed(project, text="malaria", places=("input", "logs"))) == {
        by_body.id,
        by_log.id,
    }
    assert listed(project, text="malaria", places=("id",)) == []


def test_keyset_pages_are_stable_while_new_rows_arrive(project, flows):
    orders = [hf.work_order(flows[0], received=hf.at(minutes_ago=60 - i)) for i in range(7)]
    newest_first = [o.id for o in reversed(orders)]
    first = listing.list_page(project.id, HistoryFilter(), limit=3)
    assert ids(first.rows) == newest_first[:3]
    arrivals = [hf.work_order(flows[0]) for _ in range(4)]
    second = listing.list_page(project.id, HistoryFilter(), cursor=first.next_cursor, limit=3)
    third = listing.list_page(project.id, HistoryFilter(), cursor=second.next_cursor, limit=3)
    assert ids(second.rows) == newest_first[3:6]
    assert ids(third.rows) == newest_first[6:] and third.next_cursor is None
    newer, more = listing.newer_rows(project.id, HistoryFilter(), first.rows[0].cursor)
    assert ids(newer) == [a.id for a in reversed(arrivals)] and not more


def test_rows_with_the_same_time_are_neither_lost_nor_repeated(project, flows):
    moment = hf.at(minutes_ago=1)
    orders = {hf.work_order(flows[0], received=moment).id for _ in range(5)}
    seen, cursor = [], None
    while True:
        page = listing.list_page(project.id, HistoryFilter(), cursor=cursor, limit=2)
        seen += ids(page.rows)
        if not (cursor := page.next_cursor):
            break
    assert sorted(seen) == sorted(orders) and len(seen) == 5


def test_newer_rows_respect_the_filter(project, flows):
    top = hf.work_order(flows[0], received=hf.at(minutes_ago=10))
    hf.work_order(flows[1])
    wanted = hf.work_order(flows[0], state="failed")
    filters = HistoryFilter(workflow_id=flows[0].id)
    rows, more = listing.newer_rows(project.id, filters, listing.get_row(project.id, top.id).cursor)
    assert ids(rows) == [wanted.id] and not more
    everything, _ = listing.newer_rows(project.id, filters, None)
    assert ids(everything) == [wanted.id, top.id]


def test_count_is_exact_up_to_the_cap(project, flows):
    for _ in range(4):
        hf.work_order(flows[0], state="failed")
    hf.work_order(flows[0], state="success")
    assert listing.count_matching(project.id, HistoryFilter(), cap=10) == listing.Count(5, False)
    assert listing.count_matching(project.id, HistoryFilter(), cap=3) == listing.Count(3, True)
    failed = HistoryFilter(states=("failed",))
    assert listing.count_matching(project.id, failed) == listing.Count(4, False)


def test_work_order_detail_lists_runs_and_steps(project, flows):
    order = hf.work_order(flows[0], state="failed")
    retry = hf.add_run(order, "success", at_=hf.at(minutes_ago=-1))
    detail = listing.work_order_detail(project.id, order.id)
    assert [run.id for run, _ in detail.runs][-1] == retry.id
    first_steps = detail.runs[0][1]
    assert [s.step_name for s in first_steps] == ["Fetch cases", "Load cases"]
    assert [s.exit_reason.value for s in first_steps] == ["success", "failed"]
    assert detail.row.latest_run_id == retry.id


def test_parse_filter_reads_the_url_and_back():
    flow_id = "6f1c2a7e-3d0b-4b8e-9a51-0c7d2e4f6a10"
    parsed = parse_filter(
        args(
            state=["failed", "crashed"],
            workflow=flow_id,
            received_from="2025-01-02",
            received_to="2025-01-31",
            activity_from="2025-01-05",
            q="  Amina   Diallo ",
            **{"in": ["logs", "input"]},
        )
    )
    assert parsed.states == ("failed", "crashed")
    assert str(parsed.workflow_id) == flow_id
    assert parsed.received_from == date(2025, 1, 2) and parsed.received_to == date(2025, 1, 31)
    assert parsed.text == "Amina Diallo" and parsed.places == ("input", "logs")
    assert parse_filter(MultiDict(parsed.to_args())) == parsed
    assert parse_filter(args(q="Amina")).places == ("id", "input")
    assert parse_filter(MultiDict()).is_empty


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"state": "done"}, "state"),
        ({"workflow": "nope"}, "workflow"),
        ({"received_from": "02/01/2025"}, "received_from"),
        ({"activity_from": "2025-02-01", "activity_to": "2025-01-01"}, "activity_to"),
        ({"q": "ab"}, "q"),
    ],
)
def test_parse_filter_names_the_bad_argument(values, field):
    with pytest.raises(Invalid) as error:
        parse_filter(args(**values))
    assert error.value.field == field


def test_a_tampered_cursor_is_invalid(project):
    with pytest.raises(Invalid) as error:
        listing.list_page(project.id, HistoryFilter(), cursor="garbage")
    assert error.value.field == "cursor"


# -- bulk actions -----------------------------------------------------------------------------


def test_bulk_selection_reads_ids_or_all_matching():
    from app.services.history import bulk as history_bulk

    chosen = history_bulk.selection_from_form(
        args(work_order_ids=["6f1c2a7e-3d0b-4b8e-9a51-0c7d2e4f6a10"] * 2)
    )
    assert len(chosen.work_order_ids) == 1 and chosen.filters is None
    everything = history_bulk.selection_from_form(args(all="1", state="failed", q="amina"))
    assert everything.filters == HistoryFilter(states=("failed",), text="amina")
    for bad in (args(), args(work_order_ids="nope")):
        with pytest.raises(Invalid):
            history_bulk.selection_from_form(bad)


def test_bulk_preview_counts_and_caps(project, flows, monkeypatch):
    from app.services.history import bulk as history_bulk

    for _ in range(3):
        hf.work_order(flows[0], state="pending")
    hf.work_order(flows[1], state="failed")
    everything = history_bulk.Selection(filters=HistoryFilter())
    preview = history_bulk.preview(project.id, everything, "cancel")
    assert (preview.work_orders, preview.pending_runs, preview.over_cap) == (4, 3, False)
    rerun = history_bulk.preview(project.id, everything, "rerun")
    assert rerun.steps == [("fetch", "Fetch cases"), ("load", "Load cases")]
    monkeypatch.setattr(history_bulk, "MAX_WORK_ORDERS", 2)
    capped = history_bulk.preview(project.id, everything, "rerun")
    assert (capped.work_orders, capped.over_cap) == (2, True)


def test_bulk_rerun_of_a_filter_is_one_bulk_rerun_of_every_match(project, flows, db):
    from app.services.history import bulk as history_bulk

    failed = [hf.work_order(flows[0], state="failed") for _ in range(5)]
    hf.work_order(flows[0], state="success")
    bulk_id = history_bulk.rerun(
        project.id, None, history_bulk.Selection(filters=HistoryFilter(states=("failed",))), None
    )
    progress = history_bulk.progress(project.id, bulk_id)
    assert (progress.total, progress.done, progress.finished) == (5, 0, False)
    matching = listing.matching_query(project.id, HistoryFilter(states=("failed",)), 100)
    assert set(db.session.scalars(matching)) == {o.id for o in failed}


def test_bulk_rerun_from_an_unknown_step_is_refused(project, flows):
    from app.services.history import bulk as history_bulk

    hf.work_order(flows[0], state="failed")
    with pytest.raises(Invalid) as error:
        history_bulk.rerun(
            project.id, None, history_bulk.Selection(filters=HistoryFilter()), "no-such-step"
        )
    assert error.value.field == "step"
