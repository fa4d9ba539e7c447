"""Schedules and times in the browser: the trigger panel's 24-hour time field and time zone
picker (this computer's zone first, one message for a wrong zone), the schedule in words on
the canvas and in the preview, the webhook reply choices in words, and the profile's clock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.studio_helpers import click_empty_canvas, sign_in

SHOTS = Path("/tmp/ferry/shots/F")
ZONE = "Africa/Nairobi"  # the zone this browser says it is in


@pytest.fixture
def page(browser: Browser, live_server: str) -> Page:
    """A tab whose browser lives in Nairobi, at 1280x800."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 800}, timezone_id=ZONE
    )
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def label(page: Page, node_id: str) -> str:
    return page.evaluate(
        "id => window.ferryStudio.graph.cy.getElementById(id).data('label')", node_id
    )


def open_new_workflow(page: Page, name: str) -> None:
    page.get_by_role("link", name="Demo project").click()
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Create workflow").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator("#studio-title")).to_have_text(name)
    page.wait_for_load_state("load")


def new_schedule(page: Page, name: str) -> None:
    """Sign in, create a workflow and add a schedule trigger to it."""
    sign_in(page)
    open_new_workflow(page, name)
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Schedule (cron)").click()
    expect(page.locator("[data-cron-ticks] li")).to_have_count(5)


def test_the_schedule_time_is_typed_on_a_24_hour_clock(page: Page):
    new_schedule(page, "Evening export")
    # Every day at a time typed on a 24-hour clock ("1930" becomes 19:30), whatever the OS.
    page.get_by_label("Schedule", exact=True).select_option("daily")
    time_field = page.get_by_label("Time (24-hour, HH:MM)")
    expect(time_field).to_have_attribute("type", "text")
    time_field.fill("1930")
    time_field.press("Tab")
    expect(time_field).to_have_value("19:30")
    expect(page.get_by_label("Cron expression")).to_have_value("30 19 * * *")
    expect(page.locator("[data-cron-ticks] li").first).to_contain_text(", 19:30 UTC")
    # A time that is not one is refused next to the field; the schedule keeps 19:30.
    time_field.fill("25:00")
    time_field.press("Tab")
    expect(page.locator("#cron-time-error")).to_be_visible()
    expect(page.get_by_label("Cron expression")).to_have_value("30 19 * * *")
    shot(page, "F-0-time-refused")
    time_field.fill("07:05")
    time_field.press("Tab")
    expect(page.locator("#cron-time-error")).to_be_hidden()
    expect(page.get_by_label("Cron expression")).to_have_value("5 7 * * *")


def test_a_wrong_zone_is_named_and_this_computers_zone_is_offered_first(page: Page):
    new_schedule(page, "Morning export")
    zone = page.get_by_label("Time zone")
    zone.fill("Nairobi")
    expect(page.locator("[data-cron-error]")).to_have_text(
        "'Nairobi' is not a time zone. Choose one from the list, e.g. Africa/Nairobi."
    )
    shot(page, "F-1-wrong-zone")
    # The list is every IANA zone, this computer's own first; one click picks it.
    first = page.locator("#cron-timezone-names option").first
    expect(first).to_have_attribute("value", ZONE)
    assert page.locator("#cron-timezone-names option").count() > 300
    page.get_by_role("button", name=f"Use {ZONE} (this computer's zone)").click()
    expect(zone).to_have_value(ZONE)
    expect(page.locator("#cron-words")).to_have_text("Runs every hour")
    expect(page.locator("[data-cron-ticks] li").first).to_contain_text("EAT")
    # Typed by keyboard, a zone from the list works as well.
    zone.fill("Europe/Berlin")
    expect(page.locator("[data-cron-ticks] li").first).to_contain_text(re.compile("CES?T"))


def test_the_canvas_names_the_schedule_in_words(page: Page):
    new_schedule(page, "Nightly registry export")
    expect(page.locator("#cron-words")).to_have_text("Runs every hour")
    assert label(page, "trigger:cron") == "⚡ Schedule\nevery hour"
    page.get_by_label("Schedule", exact=True).select_option("daily")
    page.get_by_label("Time (24-hour, HH:MM)").fill("07:05")
    page.get_by_label("Time (24-hour, HH:MM)").press("Tab")
    page.get_by_label("Time zone").fill(ZONE)
    expect(page.locator("#cron-words")).to_have_text(f"Runs every day at 07:05 {ZONE}")
    page.wait_for_function(
        "() => window.ferryStudio.graph.cy.getElementById('trigger:cron').data('label')"
        ".includes('every day at 07:05 Africa/Nairobi')"
    )
    shot(page, "F-2-schedule-in-words")
    page.get_by_label("Schedule", exact=True).select_option("weekly")
    page.get_by_label("Day").select_option("Monday")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    expect(page.locator("#cron-words")).to_have_text("Runs every Monday at 07:05 Europe/Berlin")
    # Saved and opened again, the canvas names the schedule in words from the start.
    click_empty_canvas(page)
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version")).to_be_visible()
    page.reload()
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.ferryStudio && window.ferryStudio.graph")
    assert label(page, "trigger:cron") == "⚡ Schedule\nevery Monday at 07:05 Europe/Berlin"
    shot(page, "F-3-saved-canvas")
    # The workflows list says it in the same words.
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Workflows").click()
    row = page.get_by_role("row").filter(has_text="Nightly registry export")
    expect(row.locator("[data-schedule-words]")).to_have_text("every Monday at 07:05 Europe/Berlin")
    shot(page, "F-7-workflows-list")


def test_the_webhook_reply_choices_say_what_the_caller_gets(page: Page):
    sign_in(page)
    open_new_workflow(page, "Intake with replies")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    reply = page.get_by_label("Reply")
    options = reply.locator("option").all_inner_texts()
    assert options == [
        "Straight away: 200 and the work order id",
        "When the run has finished: the run's output",
    ]
    # The chosen words are seen whole, not cut off by the panel's width.
    assert page.evaluate(
        """() => {
            const select = document.getElementById('webhook-reply');
            const style = getComputedStyle(select);
            const pen = document.createElement('canvas').getContext('2d');
            pen.font = style.font;
            const room = select.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            return [...select.options].every((o) => pen.measureText(o.text).width <= room);
        }"""
    )
    expect(page.locator("#webhook-reply-help")).to_contain_text("200 and the work order id")
    shot(page, "F-4-webhook-reply")


def test_the_profile_offers_the_zone_picker_and_a_12_hour_clock(page: Page):
    sign_in(page)
    page.goto("/profile")
    card = page.locator("#time-zone")
    expect(card.get_by_role("heading", name="Time zone and clock")).to_be_visible()
    expect(card.get_by_label("24-hour clock (14:30)")).to_be_checked()
    # A wrong zone: the same words as in the builder, next to the field.
    card.get_by_label("Time zone").fill("Nairobi")
    card.get_by_role("button", name="Save").click()
    expect(page.locator("#time_zone-error")).to_have_text(
        "'Nairobi' is not a time zone. Choose one from the list, e.g. Africa/Nairobi."
    )
    # The answer opens at the card, so the message is in sight.
    page.wait_for_function(
        "() => { const r = document.getElementById('time_zone-error').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }"
    )
    page.wait_for_timeout(600)  # Bootstrap scrolls smoothly to the card
    shot(page, "F-5-profile-wrong-zone")
    page.locator("#time-zone").get_by_role(
        "button", name=f"Use {ZONE} (this computer's zone)"
    ).click()
    page.locator("#time-zone").get_by_label("12-hour clock (2:30 PM)").check()
    page.locator("#time-zone").get_by_role("button", name="Save").click()
    expect(
        page.get_by_text(f"Time zone set to {ZONE}. Times are written on a 12-hour clock.")
    ).to_be_visible()
    expect(page.locator("#time-zone").get_by_label("12-hour clock (2:30 PM)")).to_be_checked()
    page.locator("#time-zone").scroll_into_view_if_needed()
    shot(page, "F-6-profile-12-hour")
    # Schedules are now written on a 12-hour clock; then back to 24-hour for other journeys.
    page.goto("/")
    open_new_workflow(page, "Afternoon sync")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Schedule (cron)").click()
    page.get_by_label("Schedule", exact=True).select_option("daily")
    page.get_by_label("Time (24-hour, HH:MM)").fill("14:30")
    page.get_by_label("Time (24-hour, HH:MM)").press("Tab")
    expect(page.locator("#cron-words")).to_have_text("Runs every day at 2:30 PM UTC")
    expect(page.locator("[data-cron-ticks] li").first).to_contain_text(", 2:30 PM UTC")
    page.goto("/profile")
    page.locator("#time-zone").get_by_label("24-hour clock (14:30)").check()
    page.locator("#time-zone").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Times are written on a 24-hour clock")).to_be_visible()
