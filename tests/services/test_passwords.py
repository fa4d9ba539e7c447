"""What makes a new password acceptable, and argon2 hashing (app/services/passwords.py)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.services import accounts, passwords
from app.services.errors import Invalid
from tests import factories


@pytest.mark.parametrize(
    "password",
    [
        factories.PASSWORD,
        "lemon tree by the river",
        "Tr0ub4dor&3xyz",
        "abriver-lemon-9",
        "éüéüéü river lemon",
        "y" * 64 + "lemon tree by the river",
    ],
)
def test_reasonable_passwords_pass(password):
    passwords.validate_new_password(password, email="vera@example.org")


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("", "Enter a password"),
        (None, "Enter a password"),
        (123456789012, "Enter a password"),
        ("a" * 11, "at least 12 characters"),
        ("short1!", "at least 12 characters"),
        ("x" * 129, "at most 128 characters"),
        ("good-river-lemon\x00", "NUL"),
    ],
)
def test_shape_errors_say_what_to_fix(password, says):
    with pytest.raises(Invalid) as error:
        passwords.validate_new_password(password)
    assert error.value.field == "password"
    assert says in error.value.message


def test_exactly_128_characters_is_allowed():
    passwords.validate_new_password("river lemon " * 10 + "tree ok!")
    assert len("river lemon " * 10 + "tree ok!") == 128


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "PASSWORD1234",
        "P@ssw0rd2024!",
        "P@55w0rd2024!",
        "iloveyou2024",
        "qwerty123456",
        "administrator123",
        "letmein12345",
        "qwertyuiop123",
        "!!!sunshine!!!1",
        "Welcome2025!",
    ],
)
def test_common_passwords_and_their_usual_variants_are_refused(password):
    with pytest.raises(Invalid) as error:
        passwords.validate_new_password(password)
    assert "commonly used" in error.value.message


def test_the_list_file_is_read_lower_cased_without_comments():
    listed = passwords._common_passwords()
    assert len(listed) >= 300
    assert "password" in listed and "qwertyuiop" in listed
    assert all(entry == entry.lower() and not entry.startswith("#") for entry in listed)


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "abababababab",
        "zxzxzxzxzxzxzx",
        "qwertyuiop[]",
        "][poiuytrewq",
        "1234567890-=",
        "abcdefghijklm",
        "mnopqrstuvwxyzab",
        "asdfghjkl;'",
        "river9river9river9",
    ],
)
def test_trivial_patterns_are_refused(password):
    if len(password) < 12:
        password = password + password
    with pytest.raises(Invalid) as error:
        passwords.validate_new_password(password)
    assert "too easy to guess" in error.value.message


@pytest.mark.parametrize(
    "password",
    ["Vera.Lopez likes rivers", "vera.lopez2024!", "VERA.LOPEZ######", "vera.lopez password1"],
)
def test_a_password_leaning_on_the_email_name_is_refused(password):
    with pytest.raises(Invalid) as error:
        passwords.validate_new_password(password, email="Vera.Lopez@example.org")
    assert "email address" in error.value.message


def test_the_email_name_inside_an_otherwise_strong_password_is_allowed():
    # What remains without "demo" is a password on its own (this is the demo login).
    passwords.validate_new_password("ferry-demo-password", email="demo@example.org")
    passwords.validate_new_password("vera walks by the river", email="vera@example.org")
    # A very short local part could occur in any phrase by chance, so it is not checked.
    passwords.validate_new_password("anagram of lemons", email="ana@example.org")


def test_hash_and_verify_round_trip():
    stored = passwords.hash(factories.PASSWORD)
    assert stored.startswith("$argon2")
    assert factories.PASSWORD not in stored
    assert passwords.verify(stored, factories.PASSWORD)
    assert not passwords.verify(stored, factories.PASSWORD + "x")
    assert not passwords.verify(None, factories.PASSWORD)
    assert not passwords.verify("not-a-hash", factories.PASSWORD)
    assert not passwords.needs_rehash(stored)


def test_a_hash_with_other_parameters_verifies_and_is_upgraded_at_sign_in(db, monkeypatch):
    # The suite hashes with the cheapest parameters (tests/conftest.py); Ferry itself uses
    # argon2's defaults. A user whose hash predates a parameter change still signs in, and
    # that sign-in stores a hash with today's parameters.
    user = factories.user()
    cheap = user.password_hash
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())
    assert PasswordHasher().check_needs_rehash(cheap)
    assert passwords.needs_rehash(cheap)
    assert accounts.authenticate(user.email, factories.PASSWORD) == user
    assert user.password_hash != cheap
    assert not PasswordHasher().check_needs_rehash(user.password_hash)
    assert passwords.verify(user.password_hash, factories.PASSWORD)


def test_create_user_uses_the_rules(db):
    with pytest.raises(Invalid) as error:
        accounts.create_user("someone@example.org", "password1234")
    assert "commonly used" in error.value.message
    with pytest.raises(Invalid, match="at least 12"):
        accounts.create_user("someone@example.org", "short")
    with pytest.raises(Invalid, match="email address"):
        accounts.create_user("someone@example.org", "someone rides a bike")
    user = accounts.create_user("someone@example.org", "rides a bike to work")
    assert passwords.verify(user.password_hash, "rides a bike to work")
    assert accounts.authenticate("someone@example.org", "rides a bike to work") == user
