"""Sessions end after being idle too long and after their absolute lifetime; pages go to the
sign-in page saying so, htmx requests get 401 with HX-Redirect, API tokens are unaffected,
and the session cookie is not rewritten on every request."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest

from app.services import accounts
from app.web.auth.session_start import LAST_SEEN, LOGIN_AT
from tests import factories
from tests.support import csrf_token_from, post_form

EXPIRED = "Your session expired; sign in again."
HOUR = 3600
DAY = 86400


def _forge(client, *, login_ago: float | None, seen_ago: float | None) -> None:
    now = time.time()
    with client.session_transaction() as session:
        for key, ago in ((LOGIN_AT, login_ago), (LAST_SEEN, seen_ago)):
            if ago is None:
                session.pop(key, None)
            else:
                session[key] = now - ago


def _signed_out(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_session_idle_longer_than_the_setting_is_signed_out(signed_in):
    _forge(signed_in, login_ago=3 * HOUR, seen_ago=2 * HOUR + 60)
    response = signed_in.get("/projects/new")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/projects/new"
    page = signed_in.get(response.headers["Location"])
    assert EXPIRED in page.get_data(as_text=True)
    assert _signed_out(signed_in)


def test_a_session_used_within_the_idle_time_carries_on(signed_in):
    _forge(signed_in, login_ago=3 * HOUR, seen_ago=2 * HOUR - 60)
    assert signed_in.get("/").status_code == 200


def test_a_session_older_than_the_lifetime_is_signed_out_even_if_busy(signed_in):
    _forge(signed_in, login_ago=7 * DAY + 60, seen_ago=10)
    response = signed_in.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _signed_out(signed_in)


def test_the_settings_decide_the_limits(signed_in, app, monkeypatch):
    settings = dataclasses.replace(
        app.config["FERRY_SETTINGS"], session_idle_minutes=5, session_max_days=1
    )
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)
    _forge(signed_in, login_ago=HOUR, seen_ago=4 * 60)
    assert signed_in.get("/").status_code == 200
    _forge(signed_in, login_ago=HOUR, seen_ago=6 * 60)
    assert _signed_out(signed_in)


def test_an_htmx_request_of_an_expired_session_gets_401_and_hx_redirect(signed_in):
    _forge(signed_in, login_ago=3 * HOUR, seen_ago=3 * HOUR)
    response = signed_in.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login"
    assert _signed_out(signed_in)


def test_a_form_post_of_an_expired_session_goes_to_the_sign_in_page(signed_in):
    page = signed_in.get("/projects/new")
    _forge(signed_in, login_ago=3 * HOUR, seen_ago=3 * HOUR)
    token = csrf_token_from(page.get_data(as_text=True))
    response = signed_in.post("/projects", data={"name": "Late", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_api_tokens_are_unaffected_by_session_limits(signed_in, user):
    token = accounts.create_api_token(user.email)
    _forge(signed_in, login_ago=30 * DAY, seen_ago=30 * DAY)
    response = signed_in.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_a_session_from_before_the_limits_starts_counting_now(signed_in):
    _forge(signed_in, login_ago=None, seen_ago=None)
    assert signed_in.get("/").status_code == 200
    with signed_in.session_transaction() as session:
        assert abs(session[LOGIN_AT] - time.time()) < 60
        assert abs(session[LAST_SEEN] - time.time()) < 60


def test_a_malformed_start_time_counts_as_none(signed_in):
    with signed_in.session_transaction() as session:
        session[LOGIN_AT] = "yesterday"
    assert signed_in.get("/").status_code == 200
    with signed_in.session_transaction() as session:
        assert isinstance(session[LOGIN_AT], float)


def test_the_session_cookie_is_not_rewritten_on_every_request(signed_in):
    _forge(signed_in, login_ago=HOUR, seen_ago=5)
    signed_in.get("/")  # the forged session's cookie is now the browser's
    quiet = signed_in.get("/")
    assert quiet.status_code == 200
    assert "session=" not in " ".join(quiet.headers.getlist("Set-Cookie"))
    _forge(signed_in, login_ago=HOUR, seen_ago=90)
    refreshed = signed_in.get("/")
    assert "session=" in " ".join(refreshed.headers.getlist("Set-Cookie"))
    with signed_in.session_transaction() as session:
        assert time.time() - session[LAST_SEEN] < 10


def _remembered_client(app, user):
    client = app.test_client()
    data = {"email": user.email, "password": factories.PASSWORD, "remember": "y"}
    response = post_form(client, "/login", "/login", data)
    assert response.status_code == 302
    return client, response


def test_the_remember_cookie_lasts_the_absolute_lifetime(app, db, user):
    _, response = _remembered_client(app, user)
    cookies = [SimpleCookie(h) for h in response.headers.getlist("Set-Cookie")]
    remember = next(c["remember_token"] for c in cookies if "remember_token" in c)
    expires = datetime.strptime(remember["expires"], "%a, %d %b %Y %H:%M:%S GMT")
    lifetime = expires.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(days=7) - timedelta(minutes=5) < lifetime <= timedelta(days=7)


def test_keep_me_signed_in_is_not_signed_out_for_idling(app, db, user):
    client, _ = _remembered_client(app, user)
    _forge(client, login_ago=3 * DAY, seen_ago=2 * DAY)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/profile"])
def test_keep_me_signed_in_ends_at_the_absolute_lifetime_with_its_cookie(app, db, user, path):
    client, _ = _remembered_client(app, user)
    _forge(client, login_ago=7 * DAY + 60, seen_ago=60)
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    deleted = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_")]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert _signed_out(client)  # the remember cookie does not sign the browser in again


def test_an_expired_session_on_the_sign_in_page_just_shows_it(signed_in):
    _forge(signed_in, login_ago=3 * HOUR, seen_ago=3 * HOUR)
    page = signed_in.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert EXPIRED in html and 'name="password"' in html
