"""argon2id password hashing (OWASP parameters) with rehash-on-verify."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app

_EXTENSION = "idaas_password_hasher"


def make_hasher(memory_cost: int, time_cost: int, parallelism: int) -> PasswordHasher:
    """An argon2id hasher with the given cost parameters."""
    return PasswordHasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    hasher: PasswordHasher = current_app.extensions[_EXTENSION]
    return hasher


def hash_password(password: str) -> str:
    """Hash a password with the configured argon2id parameters."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check a password; return (ok, new_hash) where new_hash is set when parameters changed."""
    hasher = _hasher()
    if not password_hash:
        verify_dummy(password)
        return False, None
    try:
        hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if hasher.check_needs_rehash(password_hash):
        return True, hasher.hash(password)
    return True, None


def verify_dummy(password: str) -> None:
    """Spend the same time as a real verification, for unknown accounts (no user enumeration)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    dummy = app.extensions.get("idaas_dummy_hash")
    if dummy is None:
        dummy = app.extensions["idaas_dummy_hash"] = _hasher().hash("idaas-dummy-password")
    try:
        _hasher().verify(dummy, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


def init_app(app: Flask) -> None:
    """Create the app's hasher from ARGON2_* settings."""
    app.extensions[_EXTENSION] = make_hasher(
        app.config["ARGON2_MEMORY_COST"],
        app.config["ARGON2_TIME_COST"],
        app.config["ARGON2_PARALLELISM"],
    )
