"""DingTalk work notifications for account events (issue 16 item 4), through the delivery engine.

`init_app` registers the `dingtalk.notify` target type; settings live in `settings`, the
message catalogue in `messages`, and the API and CLI next to push's.
"""

from __future__ import annotations


def init_app() -> None:
    """Register the target type."""
    from idaas.dingtalk.notify import target

    target.init_app()
