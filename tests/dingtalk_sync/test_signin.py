"""Imported people sign in by QR and micro-app with no bind page; leavers lose sign-in at once."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from idaas.auth.models import AuthSession
from idaas.directory.models import Account
from idaas.extensions import db
from tests.dingtalk_login.support import (
    DINGTALK_UA,
    MICRO,
    issue_code,
    qr_callback,
    qr_start,
    state_of,
)
from tests.dingtalk_sync.support import full_import
from tests.dingtalk_sync.test_callbacks import _register


def _micro(client: Any, sandbox: Any, userid: str, leak_guard: Any) -> Any:
    import re

    page = client.get(
        f"/login/dingtalk-micro/{MICRO}",
        query_string={"app": "demo-app"},
        headers={"User-Agent": DINGTALK_UA},
    ).get_data(as_text=True)
    state = re.search(r'name="state" type="hidden" value="([^"]+)"', page).group(1)
    code = issue_code(sandbox, userid, "micro", leak_guard)
    return client.post(
        f"/login/dingtalk-micro/{MICRO}?app=demo-app", data={"code": code, "state": state}
    )


def test_imported_people_sign_in_without_binding_and_leavers_are_cut_off(
    sandbox: Any,
    conn: Any,
    sync_app: Any,
    idaas_url: str,
    leak_guard: Any,  # noqa: F811
) -> None:
    full_import(conn)
    _register(sandbox, conn, idaas_url, leak_guard)
    people = sorted((u for u in sandbox.state.users.values() if u.active), key=lambda u: u.userid)
    qr_person, micro_person = people[4], people[5]
    qr_client, micro_client = sync_app.test_client(), sync_app.test_client()
    response = qr_callback(qr_client, sandbox, qr_person.userid, leak_guard)
    assert response.status_code == 302 and not response.location.endswith("/login/bind")
    assert qr_client.get("/portal/").status_code == 200
    response = _micro(micro_client, sandbox, micro_person.userid, leak_guard)
    assert response.status_code == 302
    assert response.location.endswith("/login/dingtalk-continue?app=demo-app")
    assert micro_client.get("/portal/").status_code == 200

    late_client = sync_app.test_client()
    late_state = state_of(qr_start(late_client))
    late_code = issue_code(sandbox, qr_person.userid, "oauth2", leak_guard)
    account = db.session.scalar(select(Account).where(Account.username == qr_person.userid))
    started = time.monotonic()
    sandbox.control.delete(f"/users/{qr_person.userid}")
    # Correctness only here (no timing assertions in tests): the delay from the event to the
    # directory is measured by bench/dingtalk_events.py.
    while time.monotonic() - started < 30.0:
        db.session.expire_all()
        db.session.rollback()
        sessions = list(
            db.session.scalars(select(AuthSession).where(AuthSession.account_id == account.id))
        )
        if sessions and all(s.revoked_at is not None for s in sessions):
            break
        time.sleep(0.02)
    assert time.monotonic() - started < 30.0, "sessions still active after the event"
    assert db.session.get(Account, account.id).status == "disabled"
    assert qr_client.get("/portal/").status_code == 302
    late = late_client.get(
        "/login/dingtalk/dingtalk/callback",
        query_string={"state": late_state, "code": late_code, "authCode": late_code},
    )
    assert late.status_code in (302, 400, 403)
    assert late_client.get("/portal/").status_code == 302
