"""idaas: an identity and single-sign-on bridge for organisations that run on DingTalk."""

from __future__ import annotations

from typing import Any

from flask import Flask

from idaas import config as config_module

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the idaas application: defaults, `instance/config.py`, `IDAAS_*` env, then `config`."""
    instance = config_module.instance_path()
    app = Flask(
        __name__,
        instance_path=str(instance),
        instance_relative_config=True,
        template_folder=str(config_module.PROJECT_ROOT / "templates"),
        static_folder=str(config_module.PROJECT_ROOT / "static"),
    )
    app.config.from_object(config_module.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(config_module.ENV_PREFIX)
    if config:
        app.config.update(config)
    app.config.setdefault("MIGRATIONS_DIRECTORY", config_module.PROJECT_ROOT / "migrations")
    app.config.setdefault(
        "TRANSLATIONS_DIRECTORY", config_module.PROJECT_ROOT / "idaas" / "translations"
    )
    config_module.finalise(app.config, instance)

    from idaas import (
        api,
        applications,
        audit,
        auth,
        dingtalk,
        directory,
        events,
        extensions,
        oidc,
        ops,
        portal,
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
    ):
        module.init_app(app)
    return app
