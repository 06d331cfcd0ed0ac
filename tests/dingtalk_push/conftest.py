"""Fixtures: a live sandbox corp, idaas connected to it, and a pushed subtree (HQ -> "Pushed")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.dingtalk_login.conftest import quiet_harness_logs
from tests.dingtalk_login.support import configure, sandbox_config
from tests.sandbox.fixtures import LiveSandbox, start_sandbox

FAST = {"EVENTS_RETRY_BASE_SECONDS": 0.2, "EVENTS_POLL_SECONDS": 0.2}


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A small seeded sandbox corp."""
    with quiet_harness_logs():
        yield from start_sandbox(departments=4, users=10, seed=16)


@pytest.fixture
def push_app(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """idaas with connection `corp` to the sandbox, in an app context."""
    app = make_app(**sandbox_config(sandbox), **FAST)
    with app.app_context():
        configure(sandbox, leak_guard)
        yield app


@pytest.fixture
def conn(push_app: Any) -> Any:
    """The connection row."""
    from idaas.dingtalk import connections

    return connections.require("corp")


@pytest.fixture
def root_dept(sandbox: LiveSandbox) -> int:
    """A DingTalk department "Pushed" that stands for the pushed local subtree."""
    with httpx.Client(timeout=10, trust_env=False) as http:
        return sandbox.client(http).create_department("Pushed", 1)


@pytest.fixture
def hq(push_app: Any, conn: Any, root_dept: int) -> Any:
    """Local department HQ, pushed under "Pushed"."""
    from idaas.dingtalk.push import settings
    from idaas.directory import service

    department = service.create_department("admin:1", name="HQ")
    settings.save(
        "admin:1",
        conn,
        {"enabled": True, "source_department_id": department.id, "root_dept_id": root_dept},
    )
    return department


def drain(app: Any) -> None:
    """Run every due delivery and job now."""
    from idaas.events.worker import Worker

    Worker(app).drain()


def dt_user(sandbox: LiveSandbox, mobile: str) -> Any:
    """The sandbox user with this mobile, or None."""
    userid = sandbox.state.by_mobile.get(mobile)
    return sandbox.state.users.get(userid) if userid else None


def dt_children(sandbox: LiveSandbox, dept_id: int) -> dict[str, Any]:
    """The sandbox's child departments of `dept_id` by name."""
    state = sandbox.state
    return {state.departments[c].name: state.departments[c] for c in state.children[dept_id]}


def link(account: Any, sandbox: LiveSandbox, userid: str) -> None:
    """Link the account to a sandbox person (as DingTalk sign-in would)."""
    from idaas.directory import service

    service.link_identity(
        "admin:1",
        account.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=userid,
        linked_via="manual",
    )
