"""What the DingTalk benchmarks share: the sandbox on loopback, idaas on it, a connection."""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from idaas import create_app
from idaas.sandbox.dingtalk import create_sandbox_app
from idaas.sandbox.dingtalk.state import Sandbox


def serve_sandbox(sandbox: Sandbox) -> tuple[str, BaseWSGIServer]:
    """Serve a sandbox on a loopback port (threaded); returns its URL and server."""
    server = make_server("127.0.0.1", 0, create_sandbox_app(sandbox), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    sandbox.base_url = url
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return url, server


def idaas_for(url: str, db_url: str | None, qps: float | None) -> Any:
    """An idaas app on a throwaway instance (SQLite unless `db_url`), DingTalk at `url`."""
    workdir = tempfile.mkdtemp(prefix="idaas-bench-")
    os.environ.setdefault("IDAAS_INSTANCE_PATH", workdir)
    return create_app(
        {
            "DATABASE_URL": db_url or f"sqlite:///{workdir}/bench.db",
            "DINGTALK_OAPI_BASE": url,
            "DINGTALK_API_BASE": url,
            "DINGTALK_LOGIN_BASE": url,
            "DINGTALK_SYNC_QPS": qps or None,
        }
    )


def fresh_connection(sandbox: Sandbox) -> Any:
    """Empty tables and a connection `bench` to the sandbox's default app (in an app context)."""
    from idaas.dingtalk import connections
    from idaas.extensions import db

    db.drop_all()
    db.create_all()
    dt = sandbox.default_app
    return connections.save(
        "system",
        "bench",
        corp_id=sandbox.corp_id,
        app_key=dt.app_key,
        app_secret=dt.app_secret,
        agent_id=str(dt.agent_id),
    )
