"""Authenticated encryption with the instance key ring (FERRY_ENCRYPTION_KEYS).

The first key encrypts; every key decrypts, so keys can be rotated: add a new key in front,
run `ferry rotate-keys`, then drop the old one.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class DecryptionFailed(Exception):
    """No key in the ring opens this value: the key that wrote it was removed."""


@lru_cache(maxsize=8)
def _ring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def key_ring() -> MultiFernet:
    """The MultiFernet for the running app's configured keys."""
    return _ring(current_app.config["FERRY_SETTINGS"].encryption_keys)


def encrypt_text(plaintext: str) -> bytes:
    """Encrypt a string under the first key of the ring."""
    return key_ring().encrypt(plaintext.encode())


def decrypt_text(token: bytes) -> str:
    """Decrypt a value written by `encrypt_text` with any key of the ring."""
    try:
        return key_ring().decrypt(bytes(token)).decode()
    except InvalidToken:
        raise DecryptionFailed(
            "A stored secret could not be decrypted: the key that encrypted it is no longer "
            "in FERRY_ENCRYPTION_KEYS."
        ) from None


def encrypt_json(value: object) -> bytes:
    """Encrypt a JSON-serialisable value."""
    return encrypt_text(json.dumps(value, separators=(",", ":")))


def decrypt_json(token: bytes) -> object:
    """Decrypt a value written by `encrypt_json`."""
    return json.loads(decrypt_text(token))


def reencrypt(token: bytes) -> bytes:
    """The same plaintext under the first key (what key rotation does per value)."""
    try:
        return key_ring().rotate(bytes(token))
    except InvalidToken:
        raise DecryptionFailed("A stored secret could not be decrypted during rotation.") from None


def generate_key() -> str:
    """A new random key in the format FERRY_ENCRYPTION_KEYS expects."""
    return Fernet.generate_key().decode()
