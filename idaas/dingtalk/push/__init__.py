"""Directory -> DingTalk push (issue 16 item 3) for organisations whose master is idaas.

`init_app` adds the models, the `dingtalk.push` delivery target, the full-push job kind, the
`dingtalk.notify` target (work notifications) and `idaas dingtalk push|notify` on the CLI (the
/api/v1 views are imported by `idaas.api`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Models, the delivery targets, the job kind and the CLI."""
    from idaas.dingtalk import notify
    from idaas.dingtalk.push import commands, full, models, target  # noqa: F401
    from idaas.events import jobs

    target.init_app()
    notify.init_app()
    jobs.register_kind(full.JOB_KIND, full.run_job)
    commands.init_app(app)
