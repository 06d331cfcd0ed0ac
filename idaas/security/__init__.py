"""Password hashing and policy, secrets at rest, TOTP and rate-limit keys."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Build the password hasher and the secret box; add `idaas settings`."""
    from idaas.security import models, passwords, secretbox  # noqa: F401
    from idaas.security.commands import settings_group

    passwords.init_app(app)
    secretbox.init_app(app)
    app.cli.add_command(settings_group)
