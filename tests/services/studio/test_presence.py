"""Who else has a workflow open: heartbeats in Redis with a TTL, one entry per person however
many tabs, editing over viewing, a closed tab gone at once, and nobody shown (never an error)
when Redis is down."""

from __future__ import annotations

import time
import uuid

import pytest

from app.extensions import connect_redis, redis_client
from app.services.studio import presence
from tests import factories
from tests.support import free_port


@pytest.fixture
def people(db):
    amina = factories.user()
    amina.name = "Amina Diallo"
    ben = factories.user()
    ben.name = "Ben Okafor"
    db.session.commit()
    return amina, ben


def names(found: list[presence.Present]) -> list[tuple[str, str]]:
    return [(p.name, p.mode) for p in found]


def test_each_sees_the_other_but_not_themselves(people):
    amina, ben = people
    workflow = uuid.uuid4()
    assert presence.heartbeat(workflow, amina.id, "tab1", presence.EDITING) == []
    seen_by_ben = presence.heartbeat(workflow, ben.id, "tab2", presence.VIEWING)
    assert names(seen_by_ben) == [("Amina Diallo", "editing")]
    assert seen_by_ben[0].initials == "AD" and seen_by_ben[0].first_name == "Amina"
    assert names(presence.others(workflow, amina.id)) == [("Ben Okafor", "viewing")]


def test_one_person_with_two_tabs_counts_once_and_editing_wins(people):
    amina, ben = people
    workflow = uuid.uuid4()
    presence.heartbeat(workflow, amina.id, "first", presence.VIEWING)
    presence.heartbeat(workflow, amina.id, "second", presence.EDITING)
    assert names(presence.others(workflow, ben.id)) == [("Amina Diallo", "editing")]


def test_a_tab_not_heard_from_within_the_ttl_is_gone(people):
    amina, ben = people
    workflow = uuid.uuid4()
    now = time.time()
    presence.heartbeat(workflow, amina.id, "tab", presence.EDITING, ttl_s=30, now=now - 31)
    assert presence.others(workflow, ben.id, ttl_s=30, now=now) == []
    assert names(presence.others(workflow, ben.id, ttl_s=60, now=now)) == [
        ("Amina Diallo", "editing")
    ]
    # The next heartbeat of anyone drops expired entries, and the set itself expires.
    presence.heartbeat(workflow, ben.id, "tab", presence.EDITING, ttl_s=30, now=now)
    members = redis_client().zrange(f"ferry:presence:{workflow}", 0, -1)
    assert [m.decode().split(":")[0] for m in members] == [str(ben.id)]
    assert 0 < redis_client().ttl(f"ferry:presence:{workflow}") <= 60


def test_closing_one_tab_keeps_the_other(people):
    amina, ben = people
    workflow = uuid.uuid4()
    presence.heartbeat(workflow, amina.id, "first", presence.EDITING)
    presence.heartbeat(workflow, amina.id, "second", presence.EDITING)
    presence.leave(workflow, amina.id, "first")
    assert names(presence.others(workflow, ben.id)) == [("Amina Diallo", "editing")]
    presence.leave(workflow, amina.id, "second")
    assert presence.others(workflow, ben.id) == []


def test_a_mode_change_in_one_tab_replaces_its_entry(people):
    amina, ben = people
    workflow = uuid.uuid4()
    presence.heartbeat(workflow, amina.id, "tab", presence.EDITING)
    presence.heartbeat(workflow, amina.id, "tab", presence.VIEWING)
    assert names(presence.others(workflow, ben.id)) == [("Amina Diallo", "viewing")]
    assert redis_client().zcard(f"ferry:presence:{workflow}") == 1


def test_disabled_people_and_garbage_entries_are_not_shown(db, people):
    amina, ben = people
    workflow = uuid.uuid4()
    presence.heartbeat(workflow, amina.id, "tab", presence.EDITING)
    redis_client().zadd(f"ferry:presence:{workflow}", {"not-a-user:x:editing": time.time()})
    redis_client().zadd(f"ferry:presence:{workflow}", {f"{uuid.uuid4()}:x:editing": time.time()})
    assert names(presence.others(workflow, ben.id)) == [("Amina Diallo", "editing")]
    amina.disabled = True
    db.session.commit()
    assert presence.others(workflow, ben.id) == []


def test_several_people_come_by_name(people, db):
    amina, ben = people
    carla = factories.user()
    carla.name = "carla"
    db.session.commit()
    workflow = uuid.uuid4()
    presence.heartbeat(workflow, carla.id, "c", presence.VIEWING)
    presence.heartbeat(workflow, ben.id, "b", presence.EDITING)
    found = presence.heartbeat(workflow, amina.id, "a", presence.EDITING)
    assert [p.name for p in found] == ["Ben Okafor", "carla"]
    assert found[1].initials == "C"


def test_redis_down_shows_nobody_and_never_raises(app, people):
    amina = people[0]
    saved = app.extensions.get("ferry_redis")
    app.extensions["ferry_redis"] = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        workflow = uuid.uuid4()
        assert presence.heartbeat(workflow, amina.id, "tab", presence.EDITING) == []
        presence.leave(workflow, amina.id, "tab")
    finally:
        app.extensions["ferry_redis"] = saved


@pytest.mark.parametrize(
    "tab", ["", None, 12, "a" * 41, "tab:1", "tab\x00", "../x", "tab 1", "ünï"]
)
def test_only_tab_tokens_the_page_makes_are_accepted(tab):
    assert not presence.valid_tab(tab)


def test_the_page_tokens_are_accepted():
    assert presence.valid_tab("123456789012345") and presence.valid_tab("a_b-C")
