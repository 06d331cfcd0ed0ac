"""Password hashing and policy, secrets at rest, TOTP and rate-limit keys."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Build the password hasher and the secret box from config."""
    from idaas.security import models, passwords, secretbox  # noqa: F401

    passwords.init_app(app)
    secretbox.init_app(app)
