"""services.time_zones: the list the pickers offer and one message for a zone that is not
one, the same wherever a zone is checked (cron preview, document import, profile)."""

from __future__ import annotations

import pytest

from app.services import time_zones
from app.services.errors import Invalid
from app.services.notifications import preferences
from app.services.studio import canvas
from app.services.workflows import store
from tests import factories

NAIROBI = "'Nairobi' is not a time zone. Choose one from the list, e.g. Africa/Nairobi."


def test_the_list_is_sorted_iana_names():
    names = time_zones.names()
    assert list(names) == sorted(names)
    assert {"UTC", "Africa/Nairobi", "Europe/Berlin", "America/New_York"} <= set(names)
    assert "Africa" not in names and "localtime" not in names


@pytest.mark.parametrize(
    "typed, suggested",
    [
        ("Nairobi", "Africa/Nairobi"),
        ("nairobi", "Africa/Nairobi"),
        ("new york", "America/New_York"),
        ("Berlin", "Europe/Berlin"),
        ("africa/nairobi", "Africa/Nairobi"),
        ("utc", "UTC"),
        ("Mars/Olympus", "Africa/Nairobi"),
    ],
)
def test_a_wrong_name_suggests_the_zone_meant(typed, suggested):
    assert time_zones.problem(typed) == (
        f"'{typed}' is not a time zone. Choose one from the list, e.g. {suggested}."
    )


@pytest.mark.parametrize("zone", ["UTC", "Africa/Nairobi", "America/Argentina/Buenos_Aires"])
def test_zones_pass(zone):
    assert time_zones.problem(zone) is None
    assert time_zones.check(zone, "tz") == zone


@pytest.mark.parametrize("zone", [None, 3, "", "  ", "Africa", "../etc", "UTC\x00", "A" * 500])
def test_anything_else_is_refused_in_words(zone):
    with pytest.raises(Invalid) as caught:
        time_zones.check(zone, "tz")
    assert caught.value.field == "tz"
    assert "time zone" in caught.value.message and "Choose" in caught.value.message
    assert "\x00" not in caught.value.message and len(caught.value.message) < 160
    assert "key" not in caught.value.message  # no Python text ("No time zone found with key")


def test_the_cron_preview_says_it_in_the_same_words(db):
    with pytest.raises(Invalid) as caught:
        canvas.cron_preview("0 2 * * *", "Nairobi")
    assert (caught.value.field, caught.value.message) == ("cron_timezone", NAIROBI)


def test_an_imported_document_says_it_in_the_same_words(db, user):
    project = factories.project(user, "Zones")
    document = {
        "name": "Nightly",
        "triggers": {
            "nightly": {"type": "cron", "cron_expression": "0 2 * * *", "cron_timezone": "Nairobi"}
        },
    }
    with pytest.raises(Invalid) as caught:
        store.create_workflow(project.id, document, user.id)
    assert caught.value.field == "triggers.nightly.cron_timezone"
    assert caught.value.message == NAIROBI


def test_the_profile_says_it_in_the_same_words(db, user):
    with pytest.raises(Invalid) as caught:
        preferences.set_time_zone(user.id, "Nairobi")
    assert (caught.value.field, caught.value.message) == ("time_zone", NAIROBI)
