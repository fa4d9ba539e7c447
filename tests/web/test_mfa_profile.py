"""MFA pages in the profile: status, enrolment with a QR code, backup codes shown once,
new codes and turning MFA off (both after the password again)."""

from __future__ import annotations

import dataclasses
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from app.extensions import redis_client
from app.models import AuditEvent
from app.services import mfa
from app.services.encryption import decrypt_text
from app.web.profile import mfa_views
from tests import factories
from tests.support import csrf_token_from, post_form

STATUS, ENROL = "/profile/mfa", "/profile/mfa/enrol"
REGENERATE, DISABLE = "/profile/mfa/backup-codes", "/profile/mfa/disable"
CODE = re.compile(r"<li class=\"col py-1\">([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>")


def secret_on_page(html: str) -> str:
    match = re.search(r'id="mfa-secret"[^>]*>([A-Z2-7 ]+)<', html)
    assert match, "the enrolment page shows no secret"
    return match.group(1).replace(" ", "")


def enrol_through_pages(client, next_url: str | None = None) -> list[str]:
    query = {"next": next_url} if next_url else {}
    page = client.get(ENROL, query_string=query).get_data(as_text=True)
    code = pyotp.TOTP(secret_on_page(page)).now()
    response = client.post(
        ENROL, query_string=query, data={"code": code, "csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 200
    return CODE.findall(response.get_data(as_text=True))


@pytest.fixture(autouse=True)
def _forget_failures(user):
    yield
    redis_client().delete(f"ferry:mfa-failures:{user.id}")


def test_the_status_page_offers_to_set_up_mfa(signed_in):
    page = signed_in.get(STATUS).get_data(as_text=True)
    assert "Off." in page and "Set up two-factor authentication" in page
    assert "Two-factor authentication</a>" in signed_in.get("/").get_data(as_text=True)


def test_the_enrolment_page_shows_a_qr_code_and_the_secret_as_text(signed_in, user):
    page = signed_in.get(ENROL).get_data(as_text=True)
    secret = secret_on_page(page)
    assert decrypt_text(user.totp_secret_encrypted) == secret
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert "<path" in svg and "<title>QR code for your authenticator app</title>" in svg
    # The content policy refuses inline styles and scripts, and the page loads nothing else.
    assert (
        "style=" not in svg
        and "<script" not in svg
        and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert secret_on_page(signed_in.get(ENROL).get_data(as_text=True)) == secret
    assert not user.mfa_enabled
    # The QR code holds the otpauth:// address of this secret, for this user, from Ferry.
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Ferry")
    assert str(mfa_views._qr_svg(uri)) == svg


def test_a_confirming_code_turns_mfa_on_and_shows_the_backup_codes_once(signed_in, user):
    page = signed_in.get(ENROL).get_data(as_text=True)
    data = {"code": pyotp.TOTP(secret_on_page(page)).now(), "csrf_token": csrf_token_from(page)}
    response = signed_in.post(ENROL, data=data)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    codes = CODE.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    assert user.mfa_enabled
    assert signed_in.get(STATUS).status_code == 200  # the rotated session still works

    status = signed_in.get(STATUS).get_data(as_text=True)
    assert "10 of 10" in status and not any(code in status for code in codes)
    # The secret is not shown again either: the enrolment page now sends to the status page.
    assert signed_in.get(ENROL).headers["Location"] == STATUS
    # Replayed, the post fails: its token belonged to the session before rotation; with a
    # fresh token it changes nothing.
    assert signed_in.post(ENROL, data=data).status_code == 400
    fresh = {**data, "csrf_token": csrf_token_from(status)}
    replay = signed_in.post(ENROL, data=fresh)
    assert replay.status_code == 302 and replay.headers["Location"] == STATUS
    assert mfa.remaining_backup_codes(user.id) == 10


def test_enabling_mfa_rotates_the_session(signed_in):
    before = signed_in.get_cookie("session").value
    enrol_through_pages(signed_in)
    assert signed_in.get_cookie("session").value != before


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("", 422, "Enter the 6-digit code your app shows."),
        ("12345", 422, "Enter the 6-digit code from your authenticator app."),
        ("abcdef", 422, "Enter the 6-digit code from your authenticator app."),
        ("9" * 1000, 422, "too long for a code"),
        ("1234\x0056", 400, "NUL character"),
    ],
)
def test_bad_enrolment_codes_keep_mfa_off(signed_in, user, code, status, message):
    response = post_form(signed_in, ENROL, ENROL, {"code": code})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert not user.mfa_enabled


def test_a_wrong_enrolment_code_says_so_and_shows_the_same_qr_code(signed_in, user):
    page = signed_in.get(ENROL).get_data(as_text=True)
    wrong = f"{(int(pyotp.TOTP(secret_on_page(page)).now()) + 1) % 1_000_000:06d}"
    response = signed_in.post(ENROL, data={"code": wrong, "csrf_token": csrf_token_from(page)})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert mfa.WRONG_ENROL_CODE.replace("'", "&#39;") in body
    assert secret_on_page(body) == secret_on_page(page)
    assert not user.mfa_enabled


def test_new_backup_codes_need_the_password_and_replace_the_old_ones(signed_in, user):
    old = enrol_through_pages(signed_in)
    wrong = post_form(signed_in, STATUS, REGENERATE, {"regenerate-password": "not it"})
    assert wrong.status_code == 422
    assert "That is not your password." in wrong.get_data(as_text=True)

    response = post_form(signed_in, STATUS, REGENERATE, {"regenerate-password": factories.PASSWORD})
    assert response.status_code == 200
    new = CODE.findall(response.get_data(as_text=True))
    assert len(new) == 10 and set(new).isdisjoint(old)
    assert mfa.verify(user, old[0]) is None
    assert mfa.verify(user, new[0]) == "backup_code"


def test_turning_mfa_off_needs_the_password(signed_in, user):
    enrol_through_pages(signed_in)
    wrong = post_form(signed_in, STATUS, DISABLE, {"disable-password": "not it"})
    assert wrong.status_code == 422 and user.mfa_enabled

    response = post_form(signed_in, STATUS, DISABLE, {"disable-password": factories.PASSWORD})
    assert response.status_code == 302
    assert user.mfa_enabled is False
    assert "Two-factor authentication is off." in signed_in.get(STATUS).get_data(as_text=True)
    events = set(
        mfa.db.session.scalars(select(AuditEvent.event).where(AuditEvent.item_id == user.id))
    )
    assert {"mfa_enabled", "mfa_disabled"} <= events

    again = post_form(signed_in, STATUS, DISABLE, {"disable-password": factories.PASSWORD})
    assert again.status_code == 302  # a replayed post: nothing left to turn off
    assert (
        post_form(
            signed_in, STATUS, REGENERATE, {"regenerate-password": factories.PASSWORD}
        ).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("password", "status", "message"),
    [
        ("", 422, "Enter your password."),
        ("x" * 5000, 422, "Field cannot be longer than 1024 characters."),
        ("pass\x00word", 400, "NUL character"),
    ],
)
@pytest.mark.parametrize(("url", "field"), [(REGENERATE, "regenerate"), (DISABLE, "disable")])
def test_bad_passwords_change_nothing(signed_in, user, url, field, password, status, message):
    enrol_through_pages(signed_in)
    before = set(mfa.db.session.scalars(select(mfa.MfaBackupCode.code_digest)))
    response = post_form(signed_in, STATUS, url, {f"{field}-password": password})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert user.mfa_enabled
    assert set(mfa.db.session.scalars(select(mfa.MfaBackupCode.code_digest))) == before


def test_wrong_passwords_lock_the_forms_for_a_while(app, signed_in, user, monkeypatch):
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], login_attempts_per_account=3)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)
    enrol_through_pages(signed_in)
    for _ in range(3):
        post_form(signed_in, STATUS, DISABLE, {"disable-password": "guess"})
    locked = post_form(signed_in, STATUS, DISABLE, {"disable-password": factories.PASSWORD})
    assert locked.status_code == 429
    assert "Too many wrong attempts" in locked.get_data(as_text=True)
    assert user.mfa_enabled


def test_the_mfa_pages_need_a_signed_in_user(client):
    for url in (STATUS, ENROL):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_backup_codes_page_continues_to_a_safe_next_page_only(signed_in):
    page = signed_in.get(ENROL, query_string={"next": "https://evil.example/"})
    assert "evil.example" not in page.get_data(as_text=True)
    codes_page = signed_in.post(
        ENROL,
        query_string={"next": "//evil.example/x"},
        data={
            "code": pyotp.TOTP(secret_on_page(page.get_data(as_text=True))).at(time.time()),
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    ).get_data(as_text=True)
    assert "evil.example" not in codes_page
    assert f'href="{STATUS}"' in codes_page
