"""OAuth2 / OpenID provider: the authlib server (`server.py`), keys, token and JWKS endpoints."""

from __future__ import annotations

import logging

from flask import Flask

from idaas.config import ConfigError

MIN_TOKEN_LIFETIME = 60
MAX_TOKEN_LIFETIME = 24 * 3600


def init_app(app: Flask) -> None:
    """Check the token settings, register the endpoints (CSRF-exempt: no cookies involved)."""
    from idaas.extensions import csrf
    from idaas.oidc import logout, models, server, views  # noqa: F401

    app.config.setdefault("ACCESS_TOKEN_LIFETIME", 3600)
    app.config.setdefault("ACCESS_TOKEN_AUDIENCE", None)
    app.config.setdefault("TOKEN_FAILURE_RATE_LIMIT", "30 per minute")
    app.config.setdefault("KEY_ROTATION_OVERLAP", 3600)
    app.config.setdefault("KEY_ROTATION_DAYS", 0)
    try:
        lifetime = int(app.config["ACCESS_TOKEN_LIFETIME"])
    except (TypeError, ValueError):
        raise ConfigError("IDAAS_ACCESS_TOKEN_LIFETIME must be a whole number of seconds") from None
    if not MIN_TOKEN_LIFETIME <= lifetime <= MAX_TOKEN_LIFETIME:
        raise ConfigError(
            f"IDAAS_ACCESS_TOKEN_LIFETIME must be between {MIN_TOKEN_LIFETIME} and "
            f"{MAX_TOKEN_LIFETIME} seconds"
        )
    app.config["ACCESS_TOKEN_LIFETIME"] = lifetime
    # authlib's grants log every issued token (values included) at DEBUG: never let them out.
    logging.getLogger("authlib.oauth2.rfc6749.grants").setLevel(logging.INFO)
    server.authorization.init_app(app)
    csrf.exempt(views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.portal_bp)
    views.init_resume(app)
    logout.init_app(app)
    from idaas.oidc import commands

    app.cli.add_command(commands.keys_group)
