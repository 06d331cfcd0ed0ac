"""Secrets at rest: MultiFernet over the configured keys (first key encrypts, all decrypt)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

_EXTENSION = "idaas_secretbox"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _box() -> MultiFernet:
    box: MultiFernet = current_app.extensions[_EXTENSION]
    return box


def encrypt(plaintext: str) -> str:
    """Encrypt a secret for storage."""
    return _box().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a stored secret; raise SecretUnreadable when no key fits."""
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "stored secret cannot be decrypted: is IDAAS_ENCRYPTION_KEYS missing an old key?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a stored secret under the newest key."""
    return _box().rotate(token.encode()).decode()


def init_app(app: Flask) -> None:
    """Build the MultiFernet from ENCRYPTION_KEYS."""
    keys = [Fernet(key.encode()) for key in app.config["ENCRYPTION_KEYS"]]
    app.extensions[_EXTENSION] = MultiFernet(keys)
