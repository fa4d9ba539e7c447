"""Times and schedules as pages write them: 24-hour clocks unless the user chose 12-hour on
their profile, the cron preview and the canvas data in words, the time zone picker with one
message for a wrong zone, and the webhook reply choices in words that match the answer."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from html import unescape

import pytest

from app.models import Dataclip, DataclipType, Run, User
from app.services.triggers import sync_reply
from app.services.triggers.webhooks import Accepted
from app.services.workflows import store
from app.web import filters
from tests import history_factories
from tests.support import csrf_token_from

NIGHTLY = """
name: Nightly export
triggers:
  nightly:
    type: cron
    cron_expression: "0 2 * * *"
    cron_timezone: Africa/Nairobi
  webhook:
    type: webhook
jobs:
  send:
    name: Send
    adaptor: http@1
    body: 'get("https://example.org/records")'
edges:
  nightly->send:
    source_trigger: nightly
    target_job: send
"""
AFTERNOON = datetime(2026, 3, 2, 14, 5, 9, tzinfo=UTC)


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def choose(client, zone: str, time_format: str | None):
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    data = {"time_zone": zone, "csrf_token": token}
    if time_format is not None:
        data["time_format"] = time_format
    return client.post("/profile/time-zone", data=data)


# --- 24-hour unless chosen otherwise ------------------------------------------------------------


def test_times_are_24_hour_by_default(app, signed_in):
    with app.test_request_context():
        assert filters.exact_time(AFTERNOON) == "2026-03-02 14:05:09 UTC"
        assert filters.clock(AFTERNOON) == "14:05"
        assert filters.date_and_clock(AFTERNOON) == "Mon 02 Mar 2026, 14:05"
        assert filters.clock(AFTERNOON.replace(microsecond=7000), millis=True) == "14:05:09.007"


def test_the_profile_offers_the_clock_and_stores_the_choice(signed_in, db, user):
    page = text(signed_in.get("/profile"))
    assert 'name="time_format" id="time-format-24h" value="24h" checked' in page
    assert "12-hour clock" in page
    reply = choose(signed_in, "Africa/Nairobi", "12h")
    assert reply.status_code == 302
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert (stored.time_zone, stored.time_format) == ("Africa/Nairobi", "12h")
    assert "12-hour clock" in text(signed_in.get("/profile", follow_redirects=True))
    # A form without the choice (an older page) keeps it.
    assert choose(signed_in, "Europe/Berlin", None).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).time_format == "12h"


def test_a_user_who_chose_12_hour_times_gets_them(app, db, user, signed_in):
    user.time_format = "12h"
    db.session.commit()
    signed_in.get("/profile")  # loads the user into the session
    with app.test_request_context():
        from flask_login import login_user

        login_user(user)
        assert filters.exact_time(AFTERNOON) == "2026-03-02 2:05:09 PM UTC"
        assert filters.clock(AFTERNOON) == "2:05 PM"
        assert filters.clock(AFTERNOON, seconds=True) == "2:05:09 PM"
        assert filters.clock(AFTERNOON.replace(hour=0), millis=True) == "12:05:09.000 AM"
        assert filters.cron_words("0 2 * * *", "UTC") == "every day at 2:00 AM UTC"


@pytest.mark.parametrize("value", ["13h", "", "24H", "24h\x00", "x" * 300])
def test_a_clock_that_is_not_offered_is_refused_and_nothing_changes(signed_in, db, user, value):
    reply = choose(signed_in, "Africa/Nairobi", value)
    assert reply.status_code == (400 if "\x00" in value else 422)
    if reply.status_code == 422:
        assert "Choose 24-hour or 12-hour times." in text(reply)
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert (stored.time_zone, stored.time_format) == ("UTC", "24h")


def test_the_run_panel_history_row_title_follows_the_choice(signed_in, db, user, project):
    flow = history_factories.workflow(project)
    order = history_factories.work_order(flow, received=AFTERNOON)
    url = f"/projects/{project.id}/history"
    assert "2026-03-02 14:05:09 UTC" in text(signed_in.get(url))
    user.time_format = "12h"
    db.session.commit()
    assert "2026-03-02 2:05:09 PM UTC" in text(signed_in.get(url))
    assert order.id


# --- the time zone picker and its one message ---------------------------------------------------


def test_the_profile_time_zone_is_a_picker_with_the_whole_list(signed_in):
    page = text(signed_in.get("/profile"))
    assert 'list="time_zone-names"' in page and "data-time-zone-picker" in page
    options = re.findall(r'<datalist id="time_zone-names">(.*?)</datalist>', page, re.S)[0]
    names = re.findall(r'<option value="([^"]+)">', options)
    assert names == sorted(names) and "Africa/Nairobi" in names and len(names) > 300
    assert "js/time_fields.js" in page


def test_the_profile_says_which_zone_was_meant(signed_in, db, user):
    reply = choose(signed_in, "Nairobi", "24h")
    assert reply.status_code == 422
    page = text(reply)
    assert "'Nairobi' is not a time zone. Choose one from the list, e.g. Africa/Nairobi." in page
    assert 'value="Nairobi"' in page  # what was typed stays


def _cron_preview(client, project, expression, zone="UTC") -> str:
    url = f"/projects/{project.id}/workflows/cron-preview"
    query = {"cron_expression": expression, "cron_timezone": zone}
    return text(client.get(url, query_string=query))


def test_the_cron_preview_says_the_schedule_in_words(signed_in, project):
    html = _cron_preview(signed_in, project, "0 2 * * *", "Africa/Nairobi")
    assert "Runs every day at 02:00 Africa/Nairobi" in html
    assert 'data-expression="0 2 * * *" data-timezone="Africa/Nairobi"' in html
    assert html.count("<li>") == 5 and ", 02:00 " in html


def test_the_cron_preview_names_a_wrong_zone_in_words(signed_in, project):
    html = _cron_preview(signed_in, project, "0 2 * * *", "Nairobi")
    assert "'Nairobi' is not a time zone. Choose one from the list, e.g. Africa/Nairobi." in html
    assert "No time zone found" not in html and "key" not in html


def test_the_cron_preview_follows_a_12_hour_choice(signed_in, db, user, project):
    user.time_format = "12h"
    db.session.commit()
    html = _cron_preview(signed_in, project, "30 14 * * *")
    assert "Runs every day at 2:30 PM UTC" in html and ", 2:30 PM " in html


# --- the builder: canvas words, 24-hour time field, picker, webhook reply words -----------------


@pytest.fixture
def nightly(project):
    return store.get_workflow(store.create_workflow(project.id, NIGHTLY).id)


def _builder(client, project, flow) -> str:
    return text(client.get(f"/projects/{project.id}/workflows/{flow.id}"))


def _studio_data(page: str) -> dict:
    raw = re.search(r'<script type="application/json" id="studio-data">(.*?)</script>', page, re.S)
    return json.loads(raw[1])


def test_the_canvas_gets_the_schedule_in_words(signed_in, project, nightly):
    page = _builder(signed_in, project, nightly)
    schedule = _studio_data(page)["triggers"]["nightly"]["schedule"]
    assert schedule == {
        "expression": "0 2 * * *",
        "timezone": "Africa/Nairobi",
        "words": "every day at 02:00 Africa/Nairobi",
    }
    assert _studio_data(page)["triggers"]["webhook"]["schedule"] is None
    assert (
        'data-cron-words="every day at 02:00 Africa/Nairobi" data-expression="0 2 * * *" '
        'data-timezone="Africa/Nairobi"' in page
    )


def test_the_schedule_time_is_a_24_hour_field_and_the_zone_a_picker(signed_in, project, nightly):
    page = _builder(signed_in, project, nightly)
    time_field = re.search(r'<input[^>]*id="cron-time"[^>]*>', page, re.S)[0]
    assert 'type="text"' in time_field and "data-clock-24" in time_field
    assert 'type="time"' not in page  # the browser's own picker follows the OS's 12-hour clock
    assert "24-hour, HH:MM" in page
    zone_field = re.search(r'<input[^>]*id="cron-timezone"[^>]*>', page, re.S)[0]
    assert 'list="cron-timezone-names"' in zone_field and "data-time-zone-picker" in zone_field
    assert '<datalist id="cron-timezone-names">' in page


def _reply_options(page: str) -> dict[str, str]:
    select = re.search(r'<select[^>]*id="webhook-reply".*?</select>', page, re.S)[0]
    return dict(re.findall(r'<option value="(\w+)">([^<]+)</option>', select))


def test_the_straight_away_reply_says_what_the_caller_gets(client, signed_in, project, nightly):
    words = _reply_options(_builder(signed_in, project, nightly))["before_start"]
    assert "202" not in words and "-style" not in words
    trigger = next(t for t in nightly.triggers if t.key == "webhook")
    reply = client.post(f"/i/{trigger.id}", json={"a": 1})
    # The words name the status and the body the caller really gets.
    assert words == f"Straight away: {reply.status_code} and the work order id"
    assert "work_order_id" in reply.get_json()


def test_the_after_the_run_reply_says_what_the_caller_gets(db, signed_in, project, nightly):
    words = _reply_options(_builder(signed_in, project, nightly))["after_completion"]
    assert words == "When the run has finished: the run's output"
    flow = history_factories.workflow(project)
    order = history_factories.work_order(flow, state="success")
    run = db.session.query(Run).filter_by(work_order_id=order.id).one()
    output = Dataclip(
        project_id=project.id, type=DataclipType.STEP_RESULT, body={"data": {"saved": 2}}
    )
    db.session.add(output)
    db.session.flush()
    run.final_dataclip_id = output.id
    db.session.commit()
    accepted = Accepted(work_order_id=order.id, run_id=run.id, created=False)
    status, body = sync_reply.reply_for(accepted, None, time.monotonic() + 1)
    assert (status, body) == (200, {"saved": 2})  # the run's output


def test_the_workflows_list_says_each_schedule_in_words(signed_in, project, nightly):
    page = text(signed_in.get(f"/projects/{project.id}/workflows"))
    assert "every day at 02:00 Africa/Nairobi" in page


def test_run_page_log_times_follow_the_choice(signed_in, db, user, project):
    flow = history_factories.workflow(project)
    order = history_factories.work_order(
        flow, state="failed", received=AFTERNOON, logs=[("info", "fetched 3 cases")]
    )
    run = db.session.query(Run).filter_by(work_order_id=order.id).one()
    url = f"/projects/{project.id}/runs/{run.id}/logs?logs=all"
    stamp = r'<time class="text-body-secondary" title="[^"]+">([^<]+)</time>'
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}\.\d{3}", re.search(stamp, text(signed_in.get(url)))[1])
    user.time_format = "12h"
    db.session.commit()
    written = re.search(stamp, text(signed_in.get(url)))[1]
    assert re.fullmatch(r"\d{1,2}:\d{2}:\d{2}\.\d{3} (AM|PM)", written)
