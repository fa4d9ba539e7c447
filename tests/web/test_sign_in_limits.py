"""Sign-in limits: failed attempts per account and per address lead to a 429 page saying when
to try again, the password is not even checked then, successes never count, the window
passes, a Redis outage fails open; and failed sign-ins are in the audit log."""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import select

from app import create_app
from app.models import AuditEvent
from app.services import accounts
from tests import factories
from tests.support import RequestScopedClient, log_in

WRONG = "not the password at all"
ACCOUNT = "Too many failed sign-ins for this account."
ADDRESS = "Too many failed sign-ins from your network address."


@pytest.fixture
def limits(app, monkeypatch):
    """Set the sign-in limit settings for one test."""

    def set_limits(**values):
        settings = dataclasses.replace(app.config["FERRY_SETTINGS"], **values)
        monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)

    set_limits(login_attempts_per_account=3, login_attempts_per_address=5)
    return set_limits


@pytest.fixture
def clock(monkeypatch):
    """Move the counters' clock forward: `clock(seconds)`."""
    offset = [0.0]
    real = time.time

    class Shifted:
        @staticmethod
        def time() -> float:
            return real() + offset[0]

    monkeypatch.setattr("limits.storage.redis.time", Shifted)
    monkeypatch.setattr("app.web.auth.throttle.time", Shifted)

    def forward(seconds: float) -> None:
        offset[0] += seconds

    return forward


def _fail(client, email, times):
    for _ in range(times):
        assert log_in(client, email, WRONG).status_code == 401


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_too_many_failures_for_an_account_are_refused_with_the_wait(client, user, limits):
    _fail(client, user.email, 3)
    refused = log_in(client, user.email, WRONG)
    assert refused.status_code == 429
    assert f"{ACCOUNT} Try again in 15 minutes." in _text(refused)
    assert 890 <= int(refused.headers["Retry-After"]) <= 900
    assert 'name="email"' in _text(refused)  # the sign-in page, with its form


def test_the_right_password_is_refused_too_and_not_even_checked(client, user, limits, monkeypatch):
    _fail(client, user.email, 3)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the password was checked during a lockout")

    monkeypatch.setattr(accounts, "authenticate", must_not_run)
    refused = log_in(client, user.email, factories.PASSWORD)
    assert refused.status_code == 429
    assert client.get("/").status_code == 302  # not signed in


def test_the_same_email_typed_differently_counts_as_one_account(client, user, limits):
    for typed in (user.email.upper(), f"  {user.email} ", user.email):
        assert log_in(client, typed, WRONG).status_code == 401
    assert log_in(client, user.email, factories.PASSWORD).status_code == 429


def test_another_account_from_the_address_is_unaffected_until_the_address_limit(app, user, limits):
    other = factories.user()
    first, second = app.test_client(), app.test_client()
    _fail(first, user.email, 3)
    assert log_in(first, user.email, factories.PASSWORD).status_code == 429
    assert log_in(second, other.email, factories.PASSWORD).status_code == 302
    second = app.test_client()
    _fail(second, other.email, 2)  # the address's 5th failure
    refused = log_in(second, other.email, factories.PASSWORD)
    assert refused.status_code == 429
    assert f"{ADDRESS} Try again in" in _text(refused)


def test_successful_sign_ins_never_count(app, user, limits):
    limits(login_attempts_per_account=1, login_attempts_per_address=1)
    for _ in range(4):
        assert log_in(app.test_client(), user.email, factories.PASSWORD).status_code == 302


def test_forms_that_check_no_password_do_not_count(client, user, limits):
    limits(login_attempts_per_account=1)
    for _ in range(3):
        assert log_in(client, user.email, "").status_code == 422
    assert log_in(client, user.email, factories.PASSWORD).status_code == 302


def test_the_wait_shrinks_and_after_the_window_signing_in_works(client, user, limits, clock):
    _fail(client, user.email, 3)
    clock(5 * 60)
    assert "Try again in 10 minutes." in _text(log_in(client, user.email, factories.PASSWORD))
    clock(9 * 60 + 30)
    assert "Try again in 1 minute." in _text(log_in(client, user.email, factories.PASSWORD))
    clock(31)
    assert log_in(client, user.email, factories.PASSWORD).status_code == 302


def test_each_failure_stops_counting_a_window_after_it_happened(client, user, limits, clock):
    _fail(client, user.email, 2)
    clock(10 * 60)
    _fail(client, user.email, 1)
    assert log_in(client, user.email, WRONG).status_code == 429
    clock(5 * 60 + 1)  # the first two are 15 minutes old now: one failure left in the window
    assert log_in(client, user.email, WRONG).status_code == 401


def test_a_short_window_setting_is_used(client, user, limits):
    limits(login_attempt_window_minutes=2)
    _fail(client, user.email, 3)
    assert "Try again in 2 minutes." in _text(log_in(client, user.email, WRONG))


def test_ipv6_clients_are_counted_by_their_64_network(app, db, limits):
    limits(login_attempts_per_account=10, login_attempts_per_address=2)
    people = [factories.user() for _ in range(3)]

    def attempt(address, person, password=WRONG):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return log_in(client, person.email, password)

    assert attempt("2001:db8:1:2::1", people[0]).status_code == 401
    assert attempt("2001:db8:1:2::ffff", people[1]).status_code == 401
    assert attempt("2001:db8:1:2:aaaa::3", people[2], factories.PASSWORD).status_code == 429
    assert attempt("2001:db8:1:3::1", people[2], factories.PASSWORD).status_code == 302


def test_failed_sign_ins_are_audited_without_the_password(client, user, limits, db):
    log_in(client, user.email.upper(), "secret guess 1")
    log_in(client, "nobody@example.org", "secret guess 2")
    log_in(client, "secret guess 3", "whatever it is")
    entries = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.event == "sign_in_failed")
        .order_by(AuditEvent.inserted_at)
    ).all()
    assert [(e.item_type, e.changes["email"]) for e in entries] == [
        ("user", user.email),
        ("sign_in", "nobody@example.org"),
        ("sign_in", "(not an email address)"),
    ]
    assert entries[0].item_id == user.id and entries[0].actor_id is None
    assert all(e.changes["address"] == "127.0.0.1" and e.project_id is None for e in entries)
    assert "secret guess" not in str([e.changes for e in entries])


def test_refusals_during_a_lockout_do_not_fill_the_audit_log(client, user, limits, db):
    _fail(client, user.email, 3)
    for _ in range(3):
        assert log_in(client, user.email, WRONG).status_code == 429
    count = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "sign_in_failed")).all()
    assert len(count) == 3


def test_a_redis_outage_lets_sign_ins_through_with_a_warning(settings, db, user, caplog):
    email = user.email
    broken = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0"))
    broken.config.update(TESTING=True)
    broken.test_client_class = RequestScopedClient
    with broken.app_context():
        client = broken.test_client()
        wrong = log_in(client, email, WRONG)
        assert wrong.status_code == 401
        assert "do not match" in _text(wrong)
        assert log_in(client, email, factories.PASSWORD).status_code == 302
    assert "Sign-in limits are not enforced" in caplog.text
