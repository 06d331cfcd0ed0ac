"""DingTalk integration: the HTTP client, callback crypto, connections and DingTalk sign-in.

Importing this package does nothing; `init_app` adds the models, the sign-in blueprint
(`/login/dingtalk/...`, `/login/dingtalk-micro/...`, `/login/bind`), the DingTalk auth source
types, the unbinding hooks and the CLI.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Models, the DingTalk auth sources and sign-in pages, unbinding hooks, CLI commands."""
    from idaas.auth import binding
    from idaas.auth.sources import dingtalk as dingtalk_sources  # noqa: F401  (registers types)
    from idaas.dingtalk import commands, connections, login, models  # noqa: F401
    from idaas.directory import signals

    if login.bp.name not in app.blueprints:
        app.register_blueprint(login.bp)
    app.before_request(binding.finish_deferred_link)
    signals.account_deactivated.connect(binding.on_account_deactivated)
    signals.password_changed.connect(binding.on_password_changed)
    commands.init_app(app)
    from idaas.dingtalk import sync

    sync.init_app(app)
    from idaas.dingtalk import push

    push.init_app(app)
