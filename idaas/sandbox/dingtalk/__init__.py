"""A faithful DingTalk open-platform emulator (dingtalk-api.md §9), as a separate Flask app.

`create_sandbox_app(Sandbox(...))` serves the oapi, api and login hosts on one port, plus the
`/_sandbox/` control API; point DINGTALK_OAPI_BASE, DINGTALK_API_BASE and DINGTALK_LOGIN_BASE
at it. Importing this package does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from idaas.sandbox.dingtalk.state import Sandbox


def create_sandbox_app(sandbox: Sandbox | None = None, **options: Any) -> Flask:
    """The sandbox WSGI app (see `idaas.sandbox.dingtalk.web.create_sandbox_app`)."""
    from idaas.sandbox.dingtalk.web import create_sandbox_app as create

    return create(sandbox, **options)
