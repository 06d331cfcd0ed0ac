"""Full import against the sandbox over real HTTP: exact copy, exact call count, preview rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idaas.dingtalk.sync import settings
from idaas.directory.errors import ValidationFailed
from idaas.directory.models import Account
from idaas.extensions import db
from idaas.security.passwords import verify_password
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


def test_initial_password_mode_sets_a_policy_checked_password_to_change_at_first_sign_in(
    sandbox: Any, conn: Any
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        settings.save("cli:test", conn, {"password_mode": "initial", "initial_password": "short"})
    assert "initial_password" in refused.value.fields
    assert settings.get(conn).password_mode == "none"
    settings.save(
        "cli:test", conn, {"password_mode": "initial", "initial_password": "Welcome-2026-DingTalk!"}
    )
    run = full_import(conn)
    assert run.status == "applied", run.message
    accounts = list(db.session.scalars(select(Account)))
    assert len(accounts) == len(sandbox.state.users)
    assert all(a.must_change_password for a in accounts)
    one = accounts[0]
    assert verify_password(one.password_hash, "Welcome-2026-DingTalk!")[0]
    assert not verify_password(one.password_hash, "wrong")[0]
    # The secret is stored encrypted, never shown back.
    assert "Welcome-2026" not in str(settings.describe(conn, settings.get(conn), ""))


def test_people_of_the_default_mode_have_no_password(sandbox: Any, conn: Any) -> None:
    full_import(conn)
    hashes = set(db.session.scalars(select(Account.password_hash)))
    assert hashes == {None}
