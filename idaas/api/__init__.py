"""The `/api/v1` JSON API: directory objects and integration requests, with its OpenAPI."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API blueprint (CSRF-exempt: bearer tokens, no cookies) and its limits."""
    from idaas.api import (  # noqa: F401
        applications,
        directory,
        identities,
        integrations,
        openapi,
    )
    from idaas.api.blueprint import bp
    from idaas.dingtalk.sync import api as dingtalk_sync_api  # noqa: F401  (DingTalk sync)
    from idaas.extensions import csrf

    app.config.setdefault("INTEGRATION_REQUEST_RATE_LIMIT", "10 per hour")
    app.config.setdefault("INTEGRATION_STATUS_RATE_LIMIT", "60 per minute")
    csrf.exempt(bp)
    app.register_blueprint(bp)
