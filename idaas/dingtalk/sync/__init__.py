"""DingTalk -> directory sync: full import with preview, events (HTTP and Stream), reconciliation.

`init_app` adds the models, the callback endpoint, the /metrics gauges, `idaas sync dingtalk` and
the engine job kinds (the /api/v1 views are imported by `idaas.api`). Settings:
DINGTALK_CALLBACK_WINDOW and DINGTALK_SYNC_* in `idaas/config.py`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Models, the callback blueprint, metrics, the CLI and the job handlers."""
    from idaas.dingtalk.sync import (  # noqa: F401  (models and job kinds)
        callbacks,
        commands,
        models,
        reconcile,
        runs,
        status,
    )
    from idaas.extensions import csrf

    if callbacks.bp.name not in app.blueprints:
        csrf.exempt(callbacks.bp)
        app.register_blueprint(callbacks.bp)
    status.init_metrics(app)
    commands.init_app(app)
