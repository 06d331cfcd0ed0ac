"""Bad settings give the action to take, and an import started with them changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from idaas.dingtalk import connections
from idaas.dingtalk.sync import settings
from idaas.directory.errors import ValidationFailed
from idaas.directory.models import Account, Department
from idaas.extensions import db
from tests.dingtalk_sync.support import preview

LISTSUB = "topapi/v2/department/listsub"


def _wrong_secret(sandbox: Any, conn: Any) -> None:
    connections.save("system", conn.name, app_secret="x" * 40)


def _ip(sandbox: Any, conn: Any) -> None:
    sandbox.post("/faults", {"ip_whitelist": ["10.9.9.9"]})


def _permission(sandbox: Any, conn: Any) -> None:
    sandbox.post("/faults", {"errors": [{"endpoint": LISTSUB, "errcode": 60011}]})


def _scope(sandbox: Any, conn: Any) -> None:
    sandbox.post("/faults", {"errors": [{"endpoint": LISTSUB, "errcode": 50004}]})


@pytest.mark.parametrize(
    ("breakage", "words"),
    [
        (_wrong_secret, "AppSecret"),
        (_ip, "whitelist"),
        (_permission, "通讯录只读权限"),
        (_scope, "visible range"),
    ],
)
def test_bad_settings_say_what_to_fix_and_change_nothing(
    sandbox: Any, conn: Any, breakage: Any, words: str
) -> None:
    good = settings.test_connection("admin:1", conn)
    assert good["ok"], good
    breakage(sandbox, conn)
    conn = connections.require(conn.name)
    result = settings.test_connection("admin:1", conn)
    assert not result["ok"]
    failed = [c for c in result["checks"] if not c["ok"]]
    assert words in failed[0]["message"], failed
    run = preview(conn)
    assert run.status == "failed" and words in (run.message or "")
    assert db.session.scalar(select(func.count(Account.id))) == 0
    assert db.session.scalar(select(func.count(Department.id))) == 0


def test_settings_validation_refuses_bad_values_and_keeps_the_old_ones(conn: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        settings.save(
            "admin:1",
            conn,
            {"transport": "pigeon", "mapping": [{"source": "x"}], "delete_percent": 500},
        )
    assert set(caught.value.fields) == {"transport", "mapping", "delete_percent"}
    row = settings.get(conn)
    assert row.transport == "stream" and row.delete_percent == 5 and row.mapping == []
    with pytest.raises(ValidationFailed):
        settings.save("admin:1", conn, {"password_mode": "initial", "initial_password": "a"})
