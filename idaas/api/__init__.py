"""The `/api/v1` JSON API: directory objects and integration requests, with its OpenAPI."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API blueprint (CSRF-exempt: bearer tokens, no cookies) and its limits."""
    from idaas.api import (  # noqa: F401
        applications,
        audit,
        directory,
        identities,
        integrations,
        openapi,
        scim_tokens,
        signin_policy,
    )
    from idaas.api.blueprint import bp
    from idaas.dingtalk.push import api as dingtalk_push_api  # noqa: F401  (DingTalk push)
    from idaas.dingtalk.sync import api as dingtalk_sync_api  # noqa: F401  (DingTalk sync)
    from idaas.extensions import csrf
    from idaas.scim.push import api as provisioning_api  # noqa: F401  (SCIM push)

    csrf.exempt(bp)
    app.register_blueprint(bp)
