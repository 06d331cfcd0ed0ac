"""Stream mode over the sandbox's real WebSocket: every event applied, one leader, failover."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from idaas.dingtalk.sync import settings
from idaas.dingtalk.sync.models import SyncEvent
from idaas.dingtalk.sync.streaming import StreamRunner
from idaas.extensions import db
from tests.dingtalk_sync.support import (
    EVENT_TYPES,
    directory_view,
    every_change,
    full_import,
    sandbox_view,
)


def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        db.session.expire_all()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met in time {_debug()}")


def _every_change_reaches_the_directory(sandbox: Any, conn: Any) -> None:
    """Make a change of every §6.5 type; wait until all are acked and applied; compare."""
    leaver = every_change(sandbox)
    _until(
        lambda: (
            sandbox.get("/stream")["deliveries"].get("pending", 0) == 0
            and db.session.scalar(
                select(func.count(SyncEvent.id)).where(SyncEvent.status == "pending")
            )
            == 0
            and db.session.scalar(select(func.count(SyncEvent.id))) >= 11
        )
    )
    view = directory_view(settings.system_of(conn))
    expected = sandbox_view(sandbox)
    expected["people"][leaver] = {**view["people"][leaver], "status": "disabled"}
    assert view == expected
    assert EVENT_TYPES <= set(db.session.scalars(select(SyncEvent.event_type)))


def _leaders(runners: list[StreamRunner]) -> list[StreamRunner]:
    return [r for r in runners if r.leading.is_set() and r.consumer and r.consumer.sessions]


def test_stream_events_are_stored_before_the_ack_applied_and_led_by_one_runner(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    full_import(conn)
    runners = [StreamRunner(sync_app, conn.name, retry=0.1).start() for _ in range(2)]
    try:
        _until(lambda: len(_leaders(runners)) == 1)
        time.sleep(0.3)
        assert len(_leaders(runners)) == 1
        assert len(sandbox.get("/stream")["connections"]) == 1
        _every_change_reaches_the_directory(sandbox, conn)
        assert set(db.session.scalars(select(SyncEvent.transport))) == {"stream"}
        # The leader goes away: the other runner takes over and events keep flowing.
        leader = _leaders(runners)[0]
        leader.stop()
        other = next(r for r in runners if r is not leader)
        _until(lambda: other.leading.is_set() and other.consumer and other.consumer.sessions)
        moved = sorted(sandbox.state.users)[20]
        sandbox.control.patch(f"/users/{moved}", json={"title": "新头衔"})
        _until(
            lambda: directory_view(settings.system_of(conn))["people"][moved]["title"] == "新头衔"
        )
    finally:
        for runner in runners:
            runner.stop()


def _debug() -> Any:
    return [(e.event_type, e.status, e.error) for e in db.session.scalars(select(SyncEvent))]


@pytest.mark.parametrize("casing", ["legacy", "bare"])
def test_stream_events_in_every_casing_the_contract_allows_are_applied(
    sandbox: Any, conn: Any, sync_app: Any, casing: str
) -> None:
    full_import(conn)
    sandbox.post("/variants", {"stream_casing": casing})
    runner = StreamRunner(sync_app, conn.name, retry=0.1).start()
    try:
        _until(lambda: bool(_leaders([runner])))
        _every_change_reaches_the_directory(sandbox, conn)
        assert all(e.event_ms for e in db.session.scalars(select(SyncEvent)))
    finally:
        runner.stop()
