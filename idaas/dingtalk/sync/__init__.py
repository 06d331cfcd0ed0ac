"""DingTalk -> directory sync: full import with preview, events (HTTP and Stream), reconciliation.

`init_app` adds the models, the callback endpoint, the /api/v1 endpoints and `idaas sync dingtalk`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Models, the callback blueprint, the API, the CLI and the job handlers."""
    from idaas.dingtalk.sync import jobs, models, reconcile, runs  # noqa: F401  (models and job kinds)

    # --- DingTalk sync (issue 15) settings
    # Seconds a callback's timestamp may differ from our clock (§6.2; replay window).
    app.config.setdefault("DINGTALK_CALLBACK_WINDOW", 300)
    # Apply stored events in a background thread of the process that stored them.
    app.config.setdefault("DINGTALK_SYNC_APPLY_INLINE", True)
    # Rows applied per transaction batch (new people are created in bulk, one commit a batch).
    app.config.setdefault("DINGTALK_SYNC_BATCH", 500)
    # DingTalk calls per second per app per API, shared by every process (§8.3; 0 = no limit).
    app.config.setdefault("DINGTALK_SYNC_QPS", 20)
    from idaas.dingtalk.sync import callbacks
    from idaas.extensions import csrf

    if callbacks.bp.name not in app.blueprints:
        csrf.exempt(callbacks.bp)
        app.register_blueprint(callbacks.bp)
    from idaas.dingtalk.sync import commands, status

    status.init_metrics(app)
    commands.init_app(app)
    jobs.register()
