"""SCIM 2.0: the server under `/scim/v2` (`server/`) and the casting shared with SCIM push."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `/scim/v2` blueprint (CSRF-exempt: bearer tokens, no cookies)."""
    from idaas.applications.commands import clients_group
    from idaas.extensions import csrf
    from idaas.scim import models, push  # noqa: F401
    from idaas.scim.commands import scim_tokens_group
    from idaas.scim.server import bp, bulk, errors, views  # noqa: F401

    csrf.exempt(bp)
    app.register_blueprint(bp)
    clients_group.add_command(scim_tokens_group)
    push.init_app(app)
