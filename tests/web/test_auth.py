"""Signing in and out, sessions, cookies and CSRF."""

from __future__ import annotations

from app.extensions import db
from tests import factories
from tests.support import csrf_token_from, log_in, post_form

FAILED = "That email and password do not match an active account."


def test_login_page_renders_a_form(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert "Sign in to Ferry" in html


def test_signing_in_opens_the_projects_page(client, user):
    response = log_in(client, user.email, factories.PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)


def test_email_is_matched_case_insensitively(client, user):
    assert log_in(client, user.email.upper(), factories.PASSWORD).status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(client, user):
    wrong_password = log_in(client, user.email, "not the password at all")
    unknown_email = log_in(client, "nobody@example.org", factories.PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        html = response.get_data(as_text=True)
        assert FAILED in html
        assert "password is wrong" not in html.lower()
        assert "no user" not in html.lower()
    # The email stays filled in; the password does not come back.
    assert f'value="{user.email}"' in wrong_password.get_data(as_text=True)
    assert "not the password at all" not in wrong_password.get_data(as_text=True)


def test_disabled_user_cannot_sign_in(client, user):
    user.disabled = True
    db.session.commit()
    response = log_in(client, user.email, factories.PASSWORD)
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)


def test_disabling_a_user_ends_their_session(signed_in, user):
    assert signed_in.get("/").status_code == 200
    user.disabled = True
    db.session.commit()
    response = signed_in.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_empty_fields_are_explained(client):
    response = post_form(client, "/login", "/login", {"email": "", "password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter your email address." in html
    assert "Enter your password." in html


def test_session_cookie_is_httponly_and_samesite(client, user):
    response = log_in(client, user.email, factories.PASSWORD)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_starts_a_fresh_session(client, user):
    client.get("/login")
    with client.session_transaction() as session:
        session["left_over"] = "from before sign-in"
    log_in(client, user.email, factories.PASSWORD)
    with client.session_transaction() as session:
        assert "left_over" not in session
        assert "_user_id" in session


def test_next_parameter_only_goes_to_local_paths(client, user):
    page = client.get("/login?next=https://evil.example.org/")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/login?next=https://evil.example.org/",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_pages_need_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_post_without_csrf_token_is_refused_with_400(client, user):
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_signed_in_post_without_csrf_token_is_refused(signed_in):
    response = signed_in.post("/projects", data={"name": "Sneaky"})
    assert response.status_code == 400


def test_htmx_requests_send_the_token_in_a_header(signed_in):
    page = signed_in.get("/projects/new").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    token = csrf_token_from(page)
    response = signed_in.post(
        "/projects", data={"name": "Through htmx"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 302


def test_logout_ends_the_session(signed_in):
    response = post_form(signed_in, "/", "/logout", {})
    assert response.status_code == 302
    assert signed_in.get("/").status_code == 302


# Logout ends the session on the server, not only in this browser (issue 12). Rotating the
# user's session nonce invalidates every session cookie and remember cookie carrying the
# old one, so a copied cookie replayed after sign-out no longer signs anyone in.


def _sign_in_remembered(client, user) -> tuple[str, str]:
    """Sign in with "Keep me signed in" ticked; the session and remember cookie values."""
    response = post_form(
        client,
        "/login",
        "/login",
        {"email": user.email, "password": factories.PASSWORD, "remember": "y"},
    )
    assert response.status_code == 302
    return client.get_cookie("session").value, client.get_cookie("remember_token").value


def _fresh_client_with(app, name: str, value: str):
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def _assert_sent_to_sign_in(response) -> None:
    assert response.status_code == 302, "a replayed cookie still opened the page"
    assert response.headers["Location"].startswith("/login")


def test_the_remember_cookie_alone_signs_in_before_logout(app, client, user):
    # The control for the replay tests below: the captured cookie really is a working one.
    _, remember = _sign_in_remembered(client, user)
    page = _fresh_client_with(app, "remember_token", remember).get("/")
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)


def test_a_replayed_session_cookie_is_signed_out_after_logout(app, client, user):
    session_cookie, _ = _sign_in_remembered(client, user)
    assert post_form(client, "/", "/logout", {}).status_code == 302
    _assert_sent_to_sign_in(_fresh_client_with(app, "session", session_cookie).get("/"))


def test_a_replayed_remember_cookie_is_signed_out_after_logout(app, client, user):
    _, remember = _sign_in_remembered(client, user)
    assert post_form(client, "/", "/logout", {}).status_code == 302
    _assert_sent_to_sign_in(_fresh_client_with(app, "remember_token", remember).get("/"))


def test_logout_deletes_the_remember_cookie_in_the_browser(client, user):
    _sign_in_remembered(client, user)
    response = post_form(client, "/", "/logout", {})
    deleted = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=;")
    ]
    assert deleted, "the logout response did not tell the browser to drop the remember cookie"
    assert "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert client.get_cookie("remember_token") is None


def test_logout_says_so_and_signing_in_again_works(client, user):
    _sign_in_remembered(client, user)
    response = post_form(client, "/", "/logout", {}, follow_redirects=True)
    assert "You are signed out." in response.get_data(as_text=True)
    assert log_in(client, user.email, factories.PASSWORD).status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)


def test_logout_signs_the_user_out_on_every_device(app, client, user):
    # Intended: sessions are not recorded one by one, so signing out ends them all (the
    # nonce is per user). A lost laptop is signed out by signing out on the phone.
    laptop = app.test_client()
    assert log_in(laptop, user.email, factories.PASSWORD).status_code == 302
    _sign_in_remembered(client, user)
    assert post_form(client, "/", "/logout", {}).status_code == 302
    _assert_sent_to_sign_in(laptop.get("/"))
