"""Delete protection: a 20% mass deletion stops, is audited, and applies only after confirmation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import func, select

from idaas.audit.models import AuditEvent
from idaas.dingtalk.sync import events, runs, settings
from idaas.dingtalk.sync.models import SyncRun
from idaas.directory.models import Account
from idaas.extensions import db, utcnow
from tests.dingtalk_sync.support import apply, full_import, preview


def _delete_fifth(sandbox: Any, conn: Any) -> list[str]:
    # 250 people: 20% is 50, the default minimum; a smaller minimum stands for a bigger corp.
    settings.save("cli:test", conn, {"delete_minimum": 20})
    doomed = sorted(sandbox.state.users)[: len(sandbox.state.users) // 5]
    for userid in doomed:
        sandbox.state.delete_user(userid)
    return doomed


def _disabled() -> int:
    return int(
        db.session.scalar(select(func.count(Account.id)).where(Account.status == "disabled")) or 0
    )


def _alerts() -> int:
    return int(
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "dingtalk.sync.delete_protection"
            )
        )
        or 0
    )


def test_import_holds_a_mass_deletion_until_confirmed(sandbox: Any, conn: Any) -> None:
    full_import(conn)
    doomed = _delete_fifth(sandbox, conn)
    run = preview(conn)
    assert run.counts["actions"]["account.disable"] == len(doomed)
    run = apply(run)
    assert run.status == "held" and "Delete protection" in (run.message or "")
    assert _disabled() == 0 and _alerts() == 1
    assert apply(run, "admin:1", accept_deletions=True).status == "applied"
    assert _disabled() == len(doomed)


def test_discarded_mass_deletion_changes_nothing(sandbox: Any, conn: Any) -> None:
    full_import(conn)
    _delete_fifth(sandbox, conn)
    run = apply(preview(conn))
    runs.discard("admin:1", run)
    assert _disabled() == 0


def test_event_burst_of_leavers_is_held_until_confirmed(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    sync_app.extensions["test_worker"].stop()  # the burst is applied as one batch, below
    full_import(conn)
    settings.save("cli:test", conn, {"delete_minimum": 10})
    doomed = sorted(sandbox.state.users)[:20]
    for userid in doomed:
        events.store(conn.name, "stream", {"EventType": "user_leave_org", "UserId": [userid]})
    keep = sorted(sandbox.state.users)[30]
    sandbox.state.users[keep].title = "新职位"
    events.store(conn.name, "stream", {"EventType": "user_modify_org", "UserId": [keep]})
    events.apply_pending(conn)
    assert _disabled() == 0 and _alerts() == 1
    assert db.session.scalar(select(Account.title).where(Account.username == keep)) == "新职位"
    held = db.session.scalar(select(SyncRun).where(SyncRun.kind == "events"))
    assert held is not None and held.status == "held"
    events.release("admin:1", held, approve=True)
    events.apply_pending(conn)
    assert _disabled() == 20


def test_leavers_arriving_one_by_one_stop_at_the_limit_within_the_window(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    sync_app.extensions["test_worker"].stop()  # each event is applied on its own, below
    full_import(conn)
    settings.save("cli:test", conn, {"delete_minimum": 10})  # 5% of 250 -> 13
    people = sorted(sandbox.state.users)
    start = utcnow()
    with time_machine.travel(start, tick=True):
        for userid in people[:20]:
            events.store(conn.name, "stream", {"EventType": "user_leave_org", "UserId": [userid]})
            events.apply_pending(conn)
    assert _disabled() == 13 and _alerts() == 1
    held = db.session.scalar(select(SyncRun).where(SyncRun.kind == "events"))
    assert held is not None and held.status == "held" and held.counts["events"] == 7
    # Outside the window the recent leavers no longer count: a later leaver goes through.
    events.release("admin:1", held, approve=False)
    with time_machine.travel(start + timedelta(minutes=11), tick=True):
        events.store(conn.name, "stream", {"EventType": "user_leave_org", "UserId": [people[40]]})
        events.apply_pending(conn)
    assert _disabled() == 14 and _alerts() == 1
