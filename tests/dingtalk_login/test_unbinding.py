"""Unbinding: password change/reset (per policy), disable/leave, the portal, the CLI; audited."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PASSWORD
from tests.dingtalk_login.support import (
    configure,
    links_of,
    make_local,
    people,
    qr_callback,
    sandbox_config,
)


def _linked(sandbox, username="alice", index=0):
    from idaas.directory import service

    account = make_local(username, PASSWORD)
    person = people(sandbox)[index]
    service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant=sandbox.state.corp_id,
        subject=person.userid,
        linked_via="manual",
    )
    return account, person


@pytest.mark.parametrize("reset", [False, True])
def test_password_change_or_reset_unlinks_by_default(dt_app, sandbox, leak_guard, reset):
    from idaas.directory import service

    account, person = _linked(sandbox)
    origin = "cli:admin" if reset else f"user:{account.id}"
    service.set_password(origin, account.id, "Another-Horse-43", must_change=False)
    assert not links_of(account.id)
    changes = [c for c in _change_events() if c["action"] == "identity_unlinked"]
    assert changes[-1]["reason"] == ("password_reset" if reset else "password_changed")
    # The next DingTalk sign-in asks to bind again.
    response = qr_callback(dt_app.test_client(), sandbox, person.userid, leak_guard)
    assert response.location.endswith("/login/bind")


def test_forced_change_at_sign_in_keeps_the_link_just_made(dt_app, sandbox):
    """Bind, then the required first-sign-in change: the new link survives."""
    from idaas.directory import service
    from idaas.extensions import db

    account, _ = _linked(sandbox)
    account.must_change_password = True
    db.session.commit()
    service.set_password(f"user:{account.id}", account.id, "Another-Horse-43")
    assert links_of(account.id)
    # A later, voluntary change still follows the policy.
    service.set_password(f"user:{account.id}", account.id, "Third-Horse-44")
    assert not links_of(account.id)


def _change_events():
    from sqlalchemy import select

    from idaas.audit.models import AuditEvent
    from idaas.extensions import db

    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    return [
        {"action": "identity_unlinked", "actor": r.actor, **r.details["changes"]}
        for r in rows
        if r.action == "account.identity_unlinked"
    ]


def test_password_change_keeps_links_when_policy_is_off(make_app, sandbox, leak_guard):
    from idaas.directory import service

    app = make_app(**sandbox_config(sandbox))
    with app.app_context():
        configure(sandbox, leak_guard, unlink_on_password_change=False)
        account, _ = _linked(sandbox)
        service.set_password(f"user:{account.id}", account.id, "Another-Horse-43")
        assert len(links_of(account.id)) == 1


@pytest.mark.parametrize("status", ["disabled", "left"])
def test_disable_or_leave_unlinks_and_is_audited(dt_app, sandbox, status):
    from idaas.directory import service

    account, _ = _linked(sandbox)
    service.set_status("cli:admin", account.id, status)
    assert not links_of(account.id)
    assert _change_events()[-1]["reason"] == f"account_{status}"


def test_portal_shows_and_removes_links(dt_app, sandbox):
    account, person = _linked(sandbox)
    client = dt_app.test_client()
    client.post("/login", data={"identifier": "alice", "password": PASSWORD})
    page = client.get("/portal/identities").get_data(as_text=True)
    assert person.name in page and person.userid not in page  # the DingTalk name, not the id
    [identity] = links_of(account.id)
    response = client.post(f"/portal/identities/{identity.id}/unlink")
    assert response.status_code == 302
    assert not links_of(account.id)
    assert _change_events()[-1]["reason"] == "user"


def test_admin_unlinks_from_the_cli(dt_app, sandbox):
    account, person = _linked(sandbox)
    runner = dt_app.test_cli_runner()
    listed = runner.invoke(args=["accounts", "links", "alice", "--json"])
    assert json.loads(listed.output)[0]["subject"] == person.userid
    result = runner.invoke(args=["accounts", "unlink", "alice", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"account": "alice", "unlinked": 1}
    assert not links_of(account.id)
    assert _change_events()[-1]["reason"] == "admin"
