"""A callback outage healed by failed-result recovery and reconciliation; the call budget holds."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from idaas.dingtalk.sync import reconcile, registration, settings
from idaas.dingtalk.sync.models import SyncEvent
from idaas.directory.models import Account
from idaas.extensions import db
from tests.dingtalk_sync.support import (
    directory_view,
    full_import,
    reconcile_now,
    sandbox_view,
)
from tests.sandbox.fixtures import fast_live


def test_outage_is_healed_by_failed_result_recovery_and_reconciliation(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    full_import(conn)
    settings.save("cli:test", conn, {"transport": "http"})
    with fast_live(sync_app) as server:
        url = f"{server.url}/callbacks/dingtalk/{conn.name}"
        assert registration.register_legacy("cli:test", conn, url) == url
    # The server is gone: every push fails until DingTalk gives up and keeps it as failed.
    newcomer = sandbox.post("/users", {"name": "补录", "mobile": "13700001111"})
    changed = sorted(sandbox.state.users)[11]
    sandbox.control.patch(f"/users/{changed}", json={"title": "掉线期间"})
    silent = sorted(sandbox.state.users)[12]
    sandbox.state.users[silent].title = "无事件漂移"  # a change no event ever announces
    deadline = time.monotonic() + 10
    while any(d["status"] == "pending" for d in sandbox.get("/callbacks/deliveries")["deliveries"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len(sandbox.state.failed_events) == 2
    run = reconcile_now(conn)
    assert run.status == "applied", run.message
    recovered = db.session.scalar(
        select(func.count(SyncEvent.id)).where(SyncEvent.transport == "recovery")
    )
    assert recovered == 2
    assert directory_view(settings.system_of(conn)) == sandbox_view(sandbox)
    assert run.counts["actions"] == {"account.update": 1}
    assert run.result["outcomes"] == {"updated": 1}
    assert db.session.scalar(select(Account.id).where(Account.username == newcomer["userid"]))


def test_reconciliation_stops_at_its_call_budget_and_changes_nothing(
    sandbox: Any, conn: Any
) -> None:
    full_import(conn)
    silent = sorted(sandbox.state.users)[12]
    sandbox.state.users[silent].title = "无事件漂移"
    settings.save("cli:test", conn, {"reconcile_budget": 10})
    run = reconcile_now(conn)
    assert run.status == "failed" and "budget" in (run.message or "")
    title = db.session.scalar(select(Account.title).where(Account.username == silent))
    assert title != "无事件漂移"


def test_leaver_policy_delete_removes_leavers_after_the_configured_days(
    sandbox: Any, conn: Any
) -> None:
    from datetime import timedelta

    from idaas.extensions import utcnow

    full_import(conn)
    settings.save("cli:test", conn, {"leavers": "delete", "leaver_delete_days": 30})
    leaver = sorted(sandbox.state.users)[5]
    sandbox.state.delete_user(leaver)
    assert reconcile_now(conn).status == "applied"
    assert db.session.scalar(select(Account.status).where(Account.username == leaver)) == "disabled"
    assert reconcile.purge_leavers(conn, now=utcnow() + timedelta(days=29)) == 0
    assert reconcile.purge_leavers(conn, now=utcnow() + timedelta(days=31)) == 1
    assert db.session.scalar(select(Account.id).where(Account.username == leaver)) is None
