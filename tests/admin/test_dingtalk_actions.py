"""The DingTalk connection page's actions against the sandbox corp: reconcile now, register the
HTTP callback, remove the connection with the choice for imported people; each asks first, is
audited with the admin as actor and refused to admins without the directory write permission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.admin.conftest import ROLE_PASSWORD, sign_in
from tests.auth.helpers import audit_actions
from tests.conftest import ADMIN_PASSWORD
from tests.dingtalk_login.conftest import quiet_harness_logs
from tests.dingtalk_sync import conftest as sync_fixtures
from tests.dingtalk_sync.support import full_import
from tests.sandbox.fixtures import LiveSandbox, fast_live, start_sandbox

sync_app, conn = sync_fixtures.sync_app, sync_fixtures.conn
PAGE = "/admin/dingtalk/corp"


@pytest.fixture
def sandbox() -> Iterator[LiveSandbox]:
    """A small sandbox corp."""
    with quiet_harness_logs():
        yield from start_sandbox(departments=2, users=4, seed=9)


@pytest.fixture
def root(sync_app: Any) -> tuple[Any, Any]:
    """The super admin `root` and a client signed in as root."""
    from idaas.directory.bootstrap import ensure_administrator
    from idaas.extensions import db

    account, _ = ensure_administrator("system", "root", ADMIN_PASSWORD)
    account.must_change_password = False
    db.session.commit()
    return account, sign_in(sync_app.test_client(), "root", ADMIN_PASSWORD)


def _role_client(sync_app: Any, root: Any, role: str) -> Any:
    from idaas.admin import roles
    from idaas.directory import service

    account = service.create_account(
        "system",
        username=role.replace("_", "-"),
        password=ROLE_PASSWORD,
        must_change_password=False,
    )
    roles.grant(f"admin:{root.id}", account.id, role)
    return sign_in(sync_app.test_client(), account.username, ROLE_PASSWORD)


def test_buttons_and_confirm_pages(root: Any) -> None:
    _, client = root
    html = client.get(PAGE).get_data(as_text=True)
    for anchor in ('id="reconcile-now"', 'id="delete-connection"'):
        assert anchor in html
    assert "data-confirm-dialog" in html
    for path in ("reconcile", "register-callback", "delete"):
        page = client.get(f"{PAGE}/{path}")
        assert page.status_code == 200 and 'id="confirm-button"' in page.get_data(as_text=True)


def test_reconcile_now_starts_a_run_audited(root: Any, conn: Any, db: Any) -> None:
    from idaas.dingtalk.sync.models import SyncRun

    account, client = root
    response = client.post(f"{PAGE}/reconcile", data={"confirm": "yes"})
    run = db.session.scalars(select(SyncRun).where(SyncRun.kind == "reconcile")).one()
    assert response.status_code == 302 and response.location == f"{PAGE}/runs/{run.id}"
    (row,) = audit_actions(db, "dingtalk.sync.reconcile_started")
    assert row.actor == f"admin:{account.id}"
    assert client.post(f"{PAGE}/reconcile").status_code == 200  # no confirm: asks again


def test_register_callback_reports_dingtalks_refusal_then_registers(
    root: Any, sync_app: Any, sandbox: LiveSandbox, db: Any
) -> None:
    account, client = root
    sync_app.config["ISSUER"] = "http://127.0.0.1:9"  # nothing listens: DingTalk's URL check fails
    refused = client.post(
        f"{PAGE}/register-callback", data={"confirm": "yes"}, follow_redirects=True
    )
    assert "flash-error" in refused.get_data(as_text=True)
    assert audit_actions(db, "dingtalk.sync.callback_registered") == []
    with fast_live(sync_app) as server:
        sync_app.config["ISSUER"] = server.url
        ok = client.post(
            f"{PAGE}/register-callback", data={"confirm": "yes"}, follow_redirects=True
        )
    assert "flash-success" in ok.get_data(as_text=True)
    (row,) = audit_actions(db, "dingtalk.sync.callback_registered")
    assert row.actor == f"admin:{account.id}"
    assert row.details["url"] == f"{server.url}/callbacks/dingtalk/corp"


def test_remove_asks_what_becomes_of_imported_people(root: Any, conn: Any, db: Any) -> None:
    from idaas.dingtalk.connections import DingTalkConnection
    from idaas.directory.models import Account

    account, client = root
    full_import(conn)
    imported = list(db.session.scalars(select(Account).where(Account.source == "dingtalk:corp")))
    assert imported
    page = client.get(f"{PAGE}/delete").get_data(as_text=True)
    assert 'id="imported-keep"' in page and 'id="imported-disable"' in page
    no_choice = client.post(f"{PAGE}/delete", data={"confirm": "yes"})
    assert no_choice.status_code == 422 and 'id="imported-error"' in no_choice.get_data(
        as_text=True
    )
    assert db.session.scalars(select(DingTalkConnection)).all()
    removed = client.post(f"{PAGE}/delete", data={"confirm": "yes", "imported": "disable"})
    assert removed.status_code == 302 and removed.location == "/admin/dingtalk"
    db.session.expire_all()
    assert db.session.scalars(select(DingTalkConnection)).all() == []
    assert {db.session.get(Account, a.id).status for a in imported} == {"disabled"}
    (row,) = audit_actions(db, "dingtalk.connection.deleted")
    assert row.actor == f"admin:{account.id}" and row.details["imported"] == "disable"


def test_admins_without_directory_write_are_refused(root: Any, sync_app: Any, db: Any) -> None:
    from idaas.dingtalk.connections import DingTalkConnection
    from idaas.dingtalk.sync.models import SyncRun

    account, _ = root
    for role in ("auditor", "application_admin"):
        client = _role_client(sync_app, account, role)
        html = client.get(PAGE).get_data(as_text=True)
        assert 'id="reconcile-now"' not in html and 'id="delete-connection"' not in html
        for path in ("reconcile", "register-callback", "delete"):
            assert client.get(f"{PAGE}/{path}").status_code == 403
            assert client.post(f"{PAGE}/{path}", data={"confirm": "yes"}).status_code == 403
    assert db.session.scalars(select(SyncRun)).all() == []
    assert len(db.session.scalars(select(DingTalkConnection)).all()) == 1
