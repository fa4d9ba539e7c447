"""services.triggers.cron_words: schedules in words for the canvas, the trigger panel and the
workflows list; shapes without a simple phrasing stay the expression itself."""

from __future__ import annotations

import pytest

from app.services.triggers.cron_words import describe


@pytest.mark.parametrize(
    "expression, words",
    [
        ("0 2 * * *", "every day at 02:00 Africa/Nairobi"),
        ("*/15 * * * *", "every 15 minutes"),
        ("30 8 * * 1", "every Monday at 08:30 Africa/Nairobi"),
        ("30 8 * * mon", "every Monday at 08:30 Africa/Nairobi"),
        ("  0   2 * *   * ", "every day at 02:00 Africa/Nairobi"),
        ("* * * * *", "every minute"),
        ("*/1 * * * *", "every minute"),
        ("0 * * * *", "every hour"),
        ("15 * * * *", "every hour at 15 minutes past"),
        ("0 */2 * * *", "every 2 hours"),
        ("30 */6 * * *", "every 6 hours at 30 minutes past"),
        ("0 * * * 1-5", "every hour on weekdays (Monday to Friday)"),
        ("0 8,17 * * *", "every day at 08:00 and 17:00 Africa/Nairobi"),
        ("0 0,6,12,18 * * *", "every day at 00:00, 06:00, 12:00 and 18:00 Africa/Nairobi"),
        ("0 9 * * 1-5", "every Monday to Friday at 09:00 Africa/Nairobi"),
        ("0 10 * * 6,0", "every Saturday and Sunday at 10:00 Africa/Nairobi"),
        ("0 10 * * 0", "every Sunday at 10:00 Africa/Nairobi"),
        ("0 10 * * 7", "every Sunday at 10:00 Africa/Nairobi"),
        ("0 2 * * 1,3,5", "every Monday, Wednesday and Friday at 02:00 Africa/Nairobi"),
        ("0 2 1 * *", "on the 1st of every month at 02:00 Africa/Nairobi"),
        ("0 2 1,15 * *", "on the 1st and 15th of every month at 02:00 Africa/Nairobi"),
        ("0 2 22 * *", "on the 22nd of every month at 02:00 Africa/Nairobi"),
        ("0 2 11 * *", "on the 11th of every month at 02:00 Africa/Nairobi"),
        ("0 0 1 1 *", "every year on 1 January at 00:00 Africa/Nairobi"),
        ("0 12 31 dec *", "every year on 31 December at 12:00 Africa/Nairobi"),
        ("*/15 9-17 * * *", "every 15 minutes from 09:00 to 17:45 Africa/Nairobi"),
        (
            "*/20 8-16 * * 1-5",
            "every 20 minutes from 08:00 to 16:40 Africa/Nairobi, on weekdays (Monday to Friday)",
        ),
        ("@daily", "every day at 00:00 Africa/Nairobi"),
        ("@hourly", "every hour"),
        ("@weekly", "every Sunday at 00:00 Africa/Nairobi"),
        ("@monthly", "on the 1st of every month at 00:00 Africa/Nairobi"),
    ],
)
def test_common_schedules_read_as_words(expression, words):
    assert describe(expression, "Africa/Nairobi") == words


def test_a_weekly_schedule_in_utc_names_utc():
    assert describe("30 8 * * 1", "UTC") == "every Monday at 08:30 UTC"
    assert describe("30 8 * * 1", "") == "every Monday at 08:30 UTC"


@pytest.mark.parametrize(
    "expression",
    [
        "0 2 1 * 1",  # a day of the month and a weekday: cron fires on either
        "0 0,4,8,12,16,20 * * *",  # too many times to read well
        "1-5 * * * *",
        "0 2 * jan *",
        "5-59/15 * * * *",
        "*/5 * * * * *",  # a seconds field
        "0 2 1-10 * *",
        "0 2 1 1,7 *",
        "*/15 9,17 * * *",
        "*/15 17-9 * * *",
        "0 2-4/1 * * *",
    ],
)
def test_shapes_without_a_plain_phrasing_show_the_expression(expression):
    assert describe(expression, "UTC") == expression


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "every day",
        "61 * * * *",
        "0 25 * * *",
        "0 2 32 * *",
        "0 2 * * 8",
        "0 2 * 13 *",
        "a b c d e",
        "0 2 * * mon-",
        "0 2 5-1 * *",
        "\x00 * * * *",
        "9" * 200,
    ],
)
def test_invalid_expressions_come_back_unchanged_and_never_raise(expression):
    assert describe(expression, "UTC") == " ".join(expression.split())


def test_twelve_hour_times_for_those_who_chose_them():
    assert describe("30 14 * * *", "UTC", "12h") == "every day at 2:30 PM UTC"
    assert describe("0 0 * * 1", "UTC", "12h") == "every Monday at 12:00 AM UTC"
    assert describe("*/10 9-11 * * *", "UTC", "12h") == (
        "every 10 minutes from 9:00 AM to 11:50 AM UTC"
    )
