"""A burst of changes over HTTP push reaches the directory, none lost or duplicated, with the
DingTalk calls the coalescing plan implies."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from idaas.dingtalk.sync import events, settings
from idaas.dingtalk.sync.models import SyncEvent
from idaas.directory.models import Account
from idaas.extensions import db
from tests.dingtalk_sync.support import directory_view, full_import, sandbox_view
from tests.dingtalk_sync.test_callbacks import _register


def _all_applied(count: int) -> list[SyncEvent]:
    deadline = time.monotonic() + 300
    while True:
        db.session.rollback()
        rows = list(
            db.session.scalars(select(SyncEvent).where(SyncEvent.event_type == "user_modify_org"))
        )
        if len(rows) == count and all(r.status == "applied" for r in rows):
            return rows
        assert time.monotonic() < deadline, f"{len(rows)} stored"
        time.sleep(0.1)


@pytest.mark.parametrize(("burst", "diff_info"), [(1000, True), (100, False)])
def test_burst_reaches_the_directory_none_lost_or_duplicated(
    sandbox: Any, conn: Any, idaas_url: str, leak_guard: Any, burst: int, diff_info: bool
) -> None:
    full_import(conn)
    sandbox.post("/variants", {"modify_diff_info": diff_info})
    _register(sandbox, conn, idaas_url, leak_guard)
    people = sorted(sandbox.state.users)
    sandbox.control.delete("/calls")
    for n in range(burst):
        userid = people[n % len(people)]
        sandbox.state.update_user({"userid": userid, "title": f"职位{n}"})
    rows = _all_applied(burst)
    # None lost or duplicated: one stored event per change, the directory equal to DingTalk.
    assert len({r.dedupe_key for r in rows}) == burst
    assert directory_view(settings.system_of(conn)) == sandbox_view(sandbox)
    calls = sandbox.get("/calls")["counts"]
    reads = calls.get("topapi/v2/user/get", 0) + calls.get("topapi/v2/user/list", 0)
    if diff_info:
        assert reads == 0  # every change is in its diffInfo: nothing to fetch
    else:
        # Coalesced: a person changed twice in one batch is read once, a department with
        # several changed people by user/list pages.
        assert 0 < reads <= min(burst, len(people))


def test_a_crowded_department_is_read_by_pages_everyone_else_by_user_get(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    sync_app.extensions["test_worker"].stop()  # applied below, as one batch
    full_import(conn)
    state = sandbox.state
    crowded, lone = sorted(
        (d for d in state.departments if d != 1 and state.members.get(d)),
        key=lambda d: -len(state.members[d]),
    )[:2]
    changed = sorted(state.members[crowded])
    single = next(u for u in sorted(state.members[lone]) if u not in changed)
    for n, userid in enumerate([*changed, single, single]):
        state.update_user({"userid": userid, "title": f"新{n}"})
        push = {"EventType": "user_modify_org", "UserId": [userid], "eventId": f"e{n}"}
        events.store(conn.name, "stream", push)
    sandbox.control.delete("/calls")
    events.apply_pending(conn)
    pages = len(state.members[crowded]) // 100 + 1
    calls = sandbox.get("/calls")["counts"]
    assert calls.get("topapi/v2/user/list") == pages
    assert calls.get("topapi/v2/user/get") == 1  # the lone person, changed twice, read once
    assert directory_view(settings.system_of(conn)) == sandbox_view(sandbox)


def test_diff_info_is_applied_without_a_fetch_unless_it_names_a_field_it_cannot_carry(
    sandbox: Any, conn: Any, sync_app: Any
) -> None:
    sync_app.extensions["test_worker"].stop()
    full_import(conn)
    first, second = sorted(sandbox.state.users)[:2]
    diff = {"prev": {"name": "x"}, "curr": {"name": "新名字", "workPlace": "杭州"}}
    events.store(
        conn.name,
        "http",
        {"EventType": "user_modify_org", "UserId": [first], "diffInfo": {**diff, "userid": first}},
    )
    moved = {"prev": {"deptIdList": [1]}, "curr": {"deptIdList": [2]}, "userid": second}
    events.store(
        conn.name, "http", {"EventType": "user_modify_org", "UserId": [second], "diffInfo": moved}
    )
    sandbox.control.delete("/calls")
    events.apply_pending(conn)
    calls = sandbox.get("/calls")["counts"]
    assert calls.get("topapi/v2/user/get") == 1  # only the department change is fetched
    names = dict(db.session.execute(select(Account.username, Account.display_name)).tuples().all())
    assert names[first] == "新名字"
    assert names[second] == sandbox.state.users[second].name
