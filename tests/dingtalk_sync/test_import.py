"""Full import against the sandbox over real HTTP: exact copy, exact call count, preview rows."""

from __future__ import annotations

from typing import Any

from idaas.dingtalk.sync import settings
from tests.dingtalk_sync.support import (
    directory_view,
    expected_calls,
    full_import,
    preview,
    sandbox_view,
)


def test_import_copies_the_corp_exactly_with_the_calls_paging_implies(
    sandbox: Any, conn: Any
) -> None:
    sandbox.control.delete("/calls")
    run = full_import(conn)
    assert run.status == "applied", run.message
    calls = sandbox.get("/calls")["counts"]
    want = expected_calls(sandbox)
    assert {k: calls.get(k, 0) for k in want} == want
    assert calls.get("topapi/v2/user/get", 0) == 0
    assert directory_view(settings.system_of(conn)) == sandbox_view(sandbox)


def test_second_import_changes_nothing(sandbox: Any, conn: Any) -> None:
    full_import(conn)
    again = preview(conn)
    assert again.counts["actions"] == {}
    assert again.total == 0
