"""OAuth2 / OpenID provider: the authlib server (`server.py`), keys, token and JWKS endpoints."""

from __future__ import annotations

import logging

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the endpoints (CSRF-exempt: no cookies involved)."""
    from idaas.extensions import csrf
    from idaas.oidc import documents, logout, models, server, views  # noqa: F401

    # authlib's grants log every issued token (values included) at DEBUG: never let them out.
    logging.getLogger("authlib.oauth2.rfc6749.grants").setLevel(logging.INFO)
    server.authorization.init_app(app)
    csrf.exempt(views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.portal_bp)
    views.init_resume(app)
    logout.init_app(app)
    documents.init_app(app)
    from idaas.oidc import commands

    app.cli.add_command(commands.keys_group)
