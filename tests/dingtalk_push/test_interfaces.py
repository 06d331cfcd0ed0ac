"""`/api/v1/dingtalk/connections/<name>/push|notifications` and `idaas dingtalk push|notify`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idaas.directory import service
from idaas.events import jobs
from idaas.extensions import db
from tests.api.conftest import Api
from tests.dingtalk_push.conftest import drain, dt_user
from tests.oidc.helpers import fetch_token, make_client

BASE = "/dingtalk/connections/corp"
EN = {"Accept-Language": "en"}


@pytest.fixture
def api(push_app: Any, leak_guard: Any) -> Api:
    """An API client with directory:read and directory:write."""
    http = push_app.test_client()
    client_id, secret = make_client("directory:read", "directory:write", leak_guard=leak_guard)
    return Api(http, client_id, fetch_token(http, client_id, secret))


def test_api_settings_test_dry_run_sync_and_deliveries(
    api: Api, push_app: Any, sandbox: Any, conn: Any, root_dept: int
) -> None:
    hq = service.create_department("admin:1", name="HQ")
    mei = service.create_account(
        "admin:1",
        username="mei",
        display_name="Mei",
        mobile="+8613900000301",
        memberships=[{"department_id": hq.id, "is_primary": True}],
    )
    assert api("GET", f"{BASE}/push").json["enabled"] is False
    refused = api("PATCH", f"{BASE}/push", json={"enabled": True})
    assert refused.status_code == 422 and "enabled" in refused.json["fields"]
    bad = api("PATCH", f"{BASE}/push", json={"mapping": [{"source": "x", "target": "password"}]})
    assert bad.status_code == 422 and "mapping" in bad.json["fields"]
    saved = api(
        "PATCH",
        f"{BASE}/push",
        json={"enabled": True, "source_department_id": hq.id, "root_dept_id": root_dept},
    )
    assert saved.status_code == 200 and saved.json["enabled"] is True
    tested = api("POST", f"{BASE}/push/test")
    assert tested.json["ok"] is True, tested.json
    plan = api("POST", f"{BASE}/push/dry-run").json
    assert plan["counts"] == {"account.create": 1}
    started = api("POST", f"{BASE}/push/sync")
    assert started.status_code == 202
    drain(push_app)
    db.session.expire_all()
    assert jobs.get(started.json["id"]).result["applied"] == {"account.create": 1}
    assert dt_user(sandbox, "13900000301") is not None
    service.update_account("admin:1", mei.id, title="CTO")
    drain(push_app)
    service.create_account(
        "admin:1",
        username="nomobile",
        display_name="No Mobile",
        memberships=[{"department_id": hq.id, "is_primary": True}],
    )
    drain(push_app)
    shown = api("GET", f"{BASE}/push/deliveries").json
    assert [(i["object_type"], i["status"]) for i in shown["items"]] == [
        ("account", "dead"),
        ("account", "delivered"),
    ]
    [refused] = shown["errors"]
    assert "mobile number" in refused["error"]
    assert dt_user(sandbox, "13900000301").title == "CTO"


def test_api_test_reports_the_whitelist_fix(
    api: Api, push_app: Any, sandbox: Any, conn: Any, hq: Any
) -> None:
    sandbox.post("/faults", {"ip_whitelist": ["10.9.9.9"]})
    result = api("POST", f"{BASE}/push/test").json
    assert result["ok"] is False
    assert "whitelist" in result["checks"][-1]["message"]


def test_api_notification_settings(api: Api, conn: Any) -> None:
    assert api("GET", f"{BASE}/notifications").json == {"events": []}
    bad = api("PUT", f"{BASE}/notifications", json={"events": ["birthday"]})
    assert bad.status_code == 422
    ok = api("PUT", f"{BASE}/notifications", json={"events": ["password_reset"]})
    assert ok.json == {"events": ["password_reset"]}


def test_cli_push_and_notify(push_app: Any, sandbox: Any, conn: Any, root_dept: int) -> None:
    runner = push_app.test_cli_runner()
    hq = service.create_department("admin:1", name="HQ")
    service.create_account(
        "admin:1",
        username="ning",
        display_name="Ning",
        mobile="+8613900000302",
        memberships=[{"department_id": hq.id, "is_primary": True}],
    )
    args = ["dingtalk", "push"]
    set_ = runner.invoke(
        args=[
            *args,
            "set",
            "corp",
            "--enabled",
            "--source-department",
            str(hq.id),
            "--root-dept",
            str(root_dept),
            "--json",
        ]
    )
    assert set_.exit_code == 0, set_.output
    assert json.loads(set_.output)["enabled"] is True
    plan = runner.invoke(args=[*args, "dry-run", "corp"])
    assert plan.exit_code == 0 and "account.create: 1" in plan.output
    started = runner.invoke(args=[*args, "sync", "corp", "--no-wait", "--json"])
    assert started.exit_code == 0, started.output
    drain(push_app)
    assert dt_user(sandbox, "13900000302") is not None
    tested = runner.invoke(args=[*args, "test", "corp"])
    assert tested.exit_code == 0 and "ok   write" in tested.output
    notify = runner.invoke(args=["dingtalk", "notify", "set", "corp", "account_disabled"])
    assert notify.exit_code == 0 and "account_disabled" in notify.output
    wrong = runner.invoke(args=["dingtalk", "notify", "set", "corp", "nope"])
    assert wrong.exit_code != 0 and "nope" in wrong.output


def test_api_refuses_one_subtree_with_two_authorities_both_ways(
    api: Api, push_app: Any, conn: Any, root_dept: int
) -> None:
    hq = service.create_department("admin:1", name="HQ")
    team = service.create_department("admin:1", name="Team", parent_id=hq.id)
    pushed = api(
        "PATCH",
        f"{BASE}/push",
        json={"enabled": True, "source_department_id": team.id, "root_dept_id": root_dept},
    )
    assert pushed.status_code == 200
    pulled = api(
        "PATCH",
        f"{BASE}/sync/settings",
        json={"enabled": True, "target_department_id": hq.id, "root_dept_id": 9},
        headers=EN,
    )
    assert pulled.status_code == 422, pulled.json
    assert "one subtree has one authority" in pulled.json["fields"]["enabled"]
    assert api("GET", f"{BASE}/sync/settings").json["enabled"] is False
    assert api("PATCH", f"{BASE}/push", json={"enabled": False}).status_code == 200
    pulled = api(
        "PATCH",
        f"{BASE}/sync/settings",
        json={"enabled": True, "target_department_id": hq.id, "root_dept_id": 9},
        headers=EN,
    )
    assert pulled.status_code == 200
    pushed = api("PATCH", f"{BASE}/push", json={"enabled": True}, headers=EN)
    assert pushed.status_code == 422
    assert "one subtree has one authority" in pushed.json["fields"]["enabled"]
