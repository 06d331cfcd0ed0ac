"""What the DingTalk benchmarks share: a seeded sandbox and an idaas app connected to it.

sandbox, sandbox_url, server = seeded_sandbox(users=2000, departments=100, seed=21)
app = idaas_app(sandbox_url, db_url)
with app.app_context():
    conn = fresh_connection(sandbox)   # an empty schema and the sandbox's default app
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from idaas import create_app
from idaas.sandbox.dingtalk import create_sandbox_app
from idaas.sandbox.dingtalk.state import Sandbox


def serve_in_thread(app: Any) -> tuple[str, BaseWSGIServer]:
    """Serve a WSGI app on a loopback port from a daemon thread; its URL and server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def seeded_sandbox(users: int, departments: int, seed: int) -> tuple[Sandbox, str, BaseWSGIServer]:
    """A DingTalk sandbox seeded with a corporation, served on loopback (quiet logs)."""
    for name in ("werkzeug", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    sandbox = Sandbox()
    sandbox.seed(departments=departments, users=users, seed=seed)
    url, server = serve_in_thread(create_sandbox_app(sandbox))
    sandbox.base_url = url
    return sandbox, url, server


def idaas_app(sandbox_url: str, db_url: str | None, **config: Any) -> Any:
    """An idaas app on a throwaway instance (SQLite unless `db_url`) that calls the sandbox."""
    workdir = tempfile.mkdtemp(prefix="idaas-bench-")
    os.environ.setdefault("IDAAS_INSTANCE_PATH", workdir)
    return create_app(
        {
            "DATABASE_URL": db_url or f"sqlite:///{workdir}/bench.db",
            "DINGTALK_OAPI_BASE": sandbox_url,
            "DINGTALK_API_BASE": sandbox_url,
            "DINGTALK_LOGIN_BASE": sandbox_url,
            **config,
        }
    )


def fresh_connection(sandbox: Sandbox) -> Any:
    """An empty schema and a DingTalk connection `bench` to the sandbox's default app."""
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
