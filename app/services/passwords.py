"""Password rules and hashing: what a new password must be, and argon2 to store and check it."""

from __future__ import annotations

import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.services.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 128
# A local part shorter than this ("ana") is too likely to occur by chance in a good phrase.
_MIN_LOCAL_PART = 4
_FEWEST_DISTINCT_CHARACTERS = 5
_LIST_FILE = Path(__file__).with_name("common_passwords.txt")
# Rows and runs people slide a finger along; a password inside one (either way) is a guess away.
_RUNS = (
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
)
# The substitutions people believe make a word safe ("p@ssw0rd"); guessing tools try them first.
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "3": "e", "1": "i", "!": "i", "$": "s",
                       "5": "s", "7": "t", "+": "t"})  # fmt: skip
_LEET_L = str.maketrans({"1": "l", "|": "l"})
_AFFIXES = "0123456789!@#$%^&*()-_=+.,?~ "

# argon2id with the library's defaults (RFC 9106's low-memory choice: 3 passes over 64 MiB).
_hasher = PasswordHasher()


def validate_new_password(password: object, *, email: str | None = None) -> None:
    """Raise Invalid('password', what to fix) unless `password` is fit to be someone's password."""
    if not isinstance(password, str) or not password:
        raise Invalid("password", "Enter a password.")
    if "\x00" in password:
        raise Invalid("password", "The password must not contain NUL characters.")
    if len(password) < MIN_LENGTH:
        raise Invalid("password", f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        raise Invalid("password", f"The password must be at most {MAX_LENGTH} characters long.")
    lowered = password.lower()
    squeezed = "".join(lowered.split())
    if email:
        local_part = email.strip().lower().partition("@")[0]
        # Guessers try the address's name with a little added ("vera.lopez2024!"), so what
        # remains without it must be a password on its own; "ferry-demo-password" for
        # demo@ is fine, "demo-2024-demo" is not.
        rest = squeezed.replace(local_part, "")
        if (
            len(local_part) >= _MIN_LOCAL_PART
            and local_part in squeezed
            and (len(rest) < MIN_LENGTH or _candidates(rest, rest) & _common_passwords())
        ):
            raise Invalid(
                "password",
                "The password leans on your email address: without it, what is left must "
                f"still be at least {MIN_LENGTH} characters and not a common password.",
            )
    if _is_trivial(squeezed):
        raise Invalid(
            "password",
            "This password is too easy to guess (a repeated character or word, or a run of keys "
            "or letters). Choose another.",
        )
    if _candidates(lowered, squeezed) & _common_passwords():
        raise Invalid(
            "password",
            "This password is on a list of commonly used passwords, which anyone guessing "
            "tries first. Choose another.",
        )


def use_parameters(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Hash new passwords with these argon2 parameters from now on (existing hashes still verify,
    and needs_rehash upgrades them at the next sign-in). Only the test suite lowers them: one
    hash with the defaults costs about 0.2 s of CPU, and thousands of tests create users."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy_hash.cache_clear()


@functools.cache
def _dummy_hash() -> str:
    """Checking a password against this when there is no stored hash keeps the time the same as
    for a wrong password, so response times do not reveal which accounts exist. Made on first
    use, not at import: every CLI command imports this module and most never check a password."""
    return _hasher.hash("ferry-timing-equaliser")


def hash(password: str) -> str:  # shadows the builtin on purpose: passwords.hash reads well
    """The argon2 hash to store for `password`."""
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches `stored_hash`; takes as long when there is no hash."""
    try:
        _hasher.verify(stored_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker argon2 parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def _is_trivial(squeezed: str) -> bool:
    if len(set(squeezed)) < _FEWEST_DISTINCT_CHARACTERS:
        return True
    size = len(squeezed)
    for unit in range(1, size // 2 + 1):
        if size % unit == 0 and squeezed == squeezed[:unit] * (size // unit):
            return True
    for run in _RUNS:
        looped = run * (size // len(run) + 2)
        if squeezed in looped or squeezed in looped[::-1]:
            return True
    return False


def _candidates(lowered: str, squeezed: str) -> set[str]:
    """The password and the forms a guesser reaches from a listed one: digits or symbols added
    before or after it, spaces between words, and look-alike substitutions."""
    forms = {lowered, squeezed, lowered.strip(_AFFIXES), squeezed.strip(_AFFIXES)}
    for form in list(forms):
        forms.add(form.translate(_LEET))
        forms.add(form.translate(_LEET_L))
        forms.add(form.translate(_LEET).strip(_AFFIXES))
    return forms


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = _LIST_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )
