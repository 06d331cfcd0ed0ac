"""Push stays inside DingTalk's per-app, per-API rate (§8.3) through the shared limiter, and an
approved association is announced by work notification."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idaas.directory import service
from idaas.events.models import Delivery
from idaas.extensions import db
from tests.dingtalk_login.support import sandbox_config
from tests.dingtalk_push.conftest import FAST, drain, link


def test_a_burst_of_people_is_paced_under_dingtalks_limit(
    make_app: Any, sandbox: Any, leak_guard: Any, root_dept: int
) -> None:
    from idaas.dingtalk.push import settings
    from tests.dingtalk_login.support import configure

    app = make_app(**sandbox_config(sandbox), **FAST, DINGTALK_SYNC_QPS=4)
    with app.app_context():
        configure(sandbox, leak_guard)
        from idaas.dingtalk import connections

        hq = service.create_department("admin:1", name="HQ")
        settings.save(
            "admin:1",
            connections.require("corp"),
            {"enabled": True, "source_department_id": hq.id, "root_dept_id": root_dept},
        )
        sandbox.post("/faults", {"throttle": {"qps": 4}})
        for n in range(12):
            service.create_account(
                "admin:1",
                username=f"u{n}",
                display_name=f"U{n}",
                mobile=f"+86139000002{n:02d}",
                memberships=[{"department_id": hq.id, "is_primary": True}],
            )
        drain(app)
        outcomes = {(d.status, d.attempts) for d in db.session.scalars(select(Delivery))}
    assert outcomes == {("delivered", 1)}  # paced (and any throttle absorbed by the client)
    refused = sum(sandbox.state.call_errors.get("topapi/v2/user/create", {}).values())
    assert sandbox.state.calls["topapi/v2/user/create"] - refused == 12


def test_an_approved_association_is_announced(
    push_app: Any, sandbox: Any, conn: Any, leak_guard: Any
) -> None:
    from idaas.applications import apps
    from idaas.dingtalk.notify import settings

    settings.save("admin:1", conn, ["association_approved"])
    userid = sorted(sandbox.state.users)[1]
    account = service.create_account("admin:1", username="zhao", display_name="Zhao")
    link(account, sandbox, userid)
    app, secret = apps.create_application(
        "admin:1",
        name="ERP",
        redirect_uris=["https://erp.example/cb"],
        subaccount_mode="association",
    )
    if secret:
        leak_guard.register(secret)
    row = apps.propose_subaccount(f"user:{account.id}", app.client_id, account.id, "zhao.e")
    apps.decide_subaccount("admin:1", row.id, approve=True)
    drain(push_app)
    [sent] = sandbox.state.notifications
    assert sent["userid_list"] == [userid]
    assert "zhao.e" in sent["msg"]["text"]["content"] and "ERP" in sent["msg"]["text"]["content"]
