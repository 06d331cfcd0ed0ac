"""idaas: an identity and single-sign-on bridge for organisations that run on DingTalk."""

from __future__ import annotations

from typing import Any

from flask import Flask

from idaas import config as config_module
from idaas import paths
from idaas.version import __version__

__all__ = ["__version__", "create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the idaas application: defaults, `instance/config.py`, `IDAAS_*` env, then `config`."""
    instance = config_module.instance_path()
    app = Flask(
        __name__,
        instance_path=str(instance),
        instance_relative_config=True,
        template_folder=str(paths.resource("templates")),
        static_folder=str(paths.resource("static")),
    )
    settings = config_module.load_settings(instance, config)
    app.config.update(config_module.passthrough(instance, config))
    app.config.update(config_module.finalise(settings, instance))

    from idaas import (
        admin,
        api,
        applications,
        audit,
        auth,
        dingtalk,
        directory,
        events,
        extensions,
        industry,
        oidc,
        ops,
        portal,
        scim,
        security,
        ui,
        web,
    )

    extensions.init_app(app)
    web.init_app(app)
    ui.init_app(app)
    for module in (
        ops,
        security,
        audit,
        events,
        directory,
        applications,
        oidc,
        api,
        auth,
        dingtalk,
        portal,
        admin,
        industry,
        scim,
    ):
        module.init_app(app)
    return app
