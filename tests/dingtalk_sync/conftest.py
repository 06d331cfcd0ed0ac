"""Fixtures: a live sandbox corp and idaas (app context) with a DingTalk connection to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dingtalk_login.conftest import quiet_harness_logs
from tests.dingtalk_login.support import configure, sandbox_config
from tests.sandbox.fixtures import LiveSandbox, fast_live, http, start_sandbox  # noqa: F401


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A seeded sandbox corp (12 departments, 250 people: several user/list pages)."""
    with quiet_harness_logs():
        yield from start_sandbox(departments=12, users=250, seed=15)


@pytest.fixture
def sync_app(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """idaas with a connection `corp` to the sandbox and its sign-in sources, in an app context."""
    from idaas.events.worker import Worker

    app = make_app(**sandbox_config(sandbox))
    with app.app_context():
        configure(sandbox, leak_guard)
        # What `idaas worker` does in production: run the queued jobs (event application).
        worker = Worker(app, run_deliveries=False, run_scheduler=False).start()
        app.extensions["test_worker"] = worker
        try:
            yield app
        finally:
            worker.stop()


@pytest.fixture
def conn(sync_app: Any) -> Any:
    """The connection row."""
    from idaas.dingtalk import connections

    return connections.require("corp")


@pytest.fixture
def idaas_url(sync_app: Any) -> Iterator[str]:
    """idaas served on a loopback port (DingTalk pushes to it)."""
    with fast_live(sync_app) as server:
        yield server.url
