"""Sign-in settings: the policy in force, the URLs to paste into DingTalk, test connection
(over real HTTP to the DingTalk sandbox), and the dashboard's connection health."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin.conftest import sign_in
from tests.conftest import ADMIN_PASSWORD
from tests.dingtalk_login.conftest import quiet_harness_logs
from tests.dingtalk_login.support import configure, sandbox_config
from tests.sandbox.fixtures import LiveSandbox, start_sandbox


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A small sandbox corp on a loopback port."""
    with quiet_harness_logs():
        yield from start_sandbox(departments=2, users=3, seed=5)


@pytest.fixture
def console(make_app: Any, sandbox: LiveSandbox, leak_guard: Any) -> Iterator[Any]:
    """idaas pointed at the sandbox, with a connection and both DingTalk sources; root signed in."""
    from idaas.directory.bootstrap import ensure_administrator
    from idaas.extensions import db

    app = make_app(**sandbox_config(sandbox), ISSUER="https://sso.example.com")
    with app.app_context():
        configure(sandbox, leak_guard)
        root, _ = ensure_administrator("system", "root", ADMIN_PASSWORD)
        root.must_change_password = False
        db.session.commit()
        yield sign_in(app.test_client(), "root", ADMIN_PASSWORD)


def test_urls_to_paste_and_test_connection(console: Any, sandbox: LiveSandbox, db: Any) -> None:
    from idaas.audit import query

    html = console.get("/admin/signin").get_data(as_text=True)
    assert "https://sso.example.com/login/dingtalk/dingtalk/callback" in html
    assert "https://sso.example.com/login/dingtalk-micro/dingtalk-app?app=&lt;client_id&gt;" in html
    assert "https://sso.example.com/callbacks/dingtalk/corp" in html
    assert "60020" in html  # the egress IP reminder
    page = console.get("/admin/signin/connections/corp/test")
    assert page.status_code == 200 and "CorpID" in page.get_data(as_text=True)
    ok = console.post(
        "/admin/signin/connections/corp/test", data={"confirm": "yes"}, follow_redirects=True
    )
    assert "flash-success" in ok.get_data(as_text=True)
    sandbox.post("/faults", {"ip_whitelist": ["203.0.113.7"]})
    blocked = console.post(
        "/admin/signin/connections/corp/test", data={"confirm": "yes"}, follow_redirects=True
    )
    text = blocked.get_data(as_text=True)
    assert "flash-error" in text and "whitelist" in text
    rows = query.page(query.AuditFilter.parse({"action": "dingtalk.connection.tested"}))
    assert [r.outcome for r in rows] == ["failure", "success"]
    from idaas.directory import service

    root = service.find_by_identifier("root")
    assert {r.actor for r in rows} == {f"admin:{root.id}"}
    dashboard = console.get("/admin/").get_data(as_text=True)
    assert "corp" in dashboard and "badge-failure" in dashboard
    assert console.get("/admin/signin/connections/nope/test").status_code == 404
