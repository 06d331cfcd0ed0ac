"""Fixtures: a small live sandbox corp (6 departments, 30 people) and idaas pointed at it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.dingtalk_login.support import configure, sandbox_config
from tests.sandbox.fixtures import LiveSandbox, http, start_sandbox  # noqa: F401


@contextmanager
def quiet_harness_logs() -> Iterator[None]:
    """Silence logs that are not idaas's: web-server access lines (the sandbox plays DingTalk's
    servers, whose logs hold its own secrets) and httpcore's DEBUG traces of test clients."""
    levels = {name: logging.getLogger(name).level for name in ("werkzeug", "httpcore")}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.INFO)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A seeded sandbox corp on a loopback port."""
    with quiet_harness_logs():
        yield from start_sandbox(departments=6, users=30, seed=11)


@pytest.fixture
def dt_app(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """idaas (inside an app context) with a connection and both DingTalk sources."""
    app = make_app(**sandbox_config(sandbox))
    with app.app_context():
        configure(sandbox, leak_guard)
        yield app


@pytest.fixture
def dt_client(dt_app: Any) -> Any:
    """A test client of `dt_app`."""
    return dt_app.test_client()
