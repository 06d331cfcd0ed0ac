"""Every destructive console action asks first (GET changes nothing) and, once confirmed,
is performed and audited with the admin as actor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idaas.audit.models import AuditEvent
from idaas.directory import service
from tests.conftest import PASSWORD


def _audited(db: Any, action: str, actor: str) -> AuditEvent:
    db.session.rollback()
    row = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())
    )
    assert row is not None, f"no {action} audit row"
    assert row.actor == actor
    return row


def _confirm(client: Any, path: str, **extra: Any) -> Any:
    page = client.get(path)
    assert page.status_code == 200 and 'name="confirm" value="yes"' in page.get_data(as_text=True)
    return client.post(path, data={"confirm": "yes", **extra})


def test_department_delete(admin_client: Any, admin: Any, db: Any) -> None:
    dept = service.create_department("system", name="Temp")
    path = f"/admin/departments/{dept.id}/delete"
    admin_client.get(path)
    assert db.session.get(type(dept), dept.id) is not None
    assert _confirm(admin_client, path).status_code == 302
    db.session.rollback()
    assert db.session.get(type(dept), dept.id) is None
    _audited(db, "department.deleted", f"admin:{admin.id}")


def test_department_delete_refused_with_members_says_why(admin_client: Any, db: Any) -> None:
    dept = service.create_department("system", name="Busy")
    service.create_account("system", username="member", display_name="M", memberships=[dept.id])
    response = admin_client.post(f"/admin/departments/{dept.id}/delete", data={"confirm": "yes"})
    assert response.status_code == 422
    assert db.session.get(type(dept), dept.id) is not None


def test_account_disable_enable_delete(
    admin_client: Any, admin: Any, account: Any, db: Any
) -> None:
    actor = f"admin:{admin.id}"
    assert _confirm(admin_client, f"/admin/accounts/{account.id}/disable").status_code == 302
    db.session.rollback()
    assert service.get_account(account.id).status == "disabled"
    _audited(db, "account.status_changed", actor)
    assert _confirm(admin_client, f"/admin/accounts/{account.id}/enable").status_code == 302
    db.session.rollback()
    assert service.get_account(account.id).status == "active"
    assert _confirm(admin_client, f"/admin/accounts/{account.id}/delete").status_code == 302
    db.session.rollback()
    _audited(db, "account.deleted", actor)


def test_bulk_disable_asks_then_disables(admin_client: Any, admin: Any, db: Any) -> None:
    ids = [
        service.create_account("system", username=f"bulk{i}", display_name=f"B{i}").id
        for i in range(3)
    ]
    data = {"action": "disable", "ids": [str(i) for i in ids]}
    first = admin_client.post("/admin/accounts/bulk", data=data)
    assert first.status_code == 200 and "bulk0" in first.get_data(as_text=True)
    assert {service.get_account(i).status for i in ids} == {"active"}
    done = admin_client.post("/admin/accounts/bulk", data={**data, "confirm": "yes"})
    assert done.status_code == 302
    db.session.rollback()
    assert {service.get_account(i).status for i in ids} == {"disabled"}
    actors = set(
        db.session.scalars(
            select(AuditEvent.actor).where(AuditEvent.target_id.in_([str(i) for i in ids]))
        )
    )
    assert f"admin:{admin.id}" in actors
    enable = admin_client.post(
        "/admin/accounts/bulk", data={"action": "enable", "ids": [str(ids[0])]}
    )
    assert enable.status_code == 302
    db.session.rollback()
    assert service.get_account(ids[0]).status == "active"


def test_password_reset_shows_a_one_time_password_once(
    admin_client: Any, admin: Any, account: Any, db: Any, leak_guard: Any
) -> None:
    import re

    response = _confirm(admin_client, f"/admin/accounts/{account.id}/password-reset")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="secret-value">([^<]+)<', response.get_data(as_text=True)).group(1)
    leak_guard.register(secret)
    db.session.rollback()
    assert service.get_account(account.id).must_change_password
    # The old password no longer signs in; the one-time password does (then must change).
    fresh = admin_client.application.test_client()
    assert (
        fresh.post("/login", data={"identifier": "alice", "password": PASSWORD}).status_code == 200
    )
    signed = fresh.post("/login", data={"identifier": "alice", "password": secret})
    assert signed.status_code == 302 and "password" in signed.location
    _audited(db, "account.password_changed", f"admin:{admin.id}")
    page = admin_client.get(f"/admin/accounts/{account.id}")
    assert secret not in page.get_data(as_text=True)


def test_mfa_reset_lockout_clear_and_session_revoke(
    admin_client: Any, admin: Any, account: Any, db: Any, client: Any
) -> None:
    from idaas.auth import lockout, sessions

    actor = f"admin:{admin.id}"
    # A live session of alice's.
    assert (
        client.post("/login", data={"identifier": "alice", "password": PASSWORD}).status_code == 302
    )
    live = sessions.live_sessions(account.id)
    assert len(live) == 1
    path = f"/admin/accounts/{account.id}/sessions/{live[0].id}/revoke"
    assert _confirm(admin_client, path).status_code == 302
    db.session.rollback()
    assert sessions.live_sessions(account.id) == []
    _audited(db, "auth.session.revoked", actor)
    # Lock alice out, then clear it.
    for _ in range(10):
        lockout.register_failure(account.id, "system")
    db.session.commit()
    assert lockout.is_locked(account.id)
    assert _confirm(admin_client, f"/admin/accounts/{account.id}/unlock").status_code == 302
    db.session.rollback()
    assert not lockout.is_locked(account.id)
    _audited(db, "auth.unlock", actor)
    assert _confirm(admin_client, f"/admin/accounts/{account.id}/mfa-reset").status_code == 302
    _audited(db, "auth.mfa.disabled", actor)


def test_identity_unlink(admin_client: Any, admin: Any, account: Any, db: Any) -> None:
    identity = service.link_identity(
        "system",
        account.id,
        provider="dingtalk",
        tenant="corp1",
        subject="user1",
        linked_via="admin",
    )
    path = f"/admin/accounts/{account.id}/identities/{identity.id}/unlink"
    assert _confirm(admin_client, path).status_code == 302
    db.session.rollback()
    assert service.identities_of(account.id) == []
    _audited(db, "account.identity_unlinked", f"admin:{admin.id}")


def test_application_secret_rotation_disable_delete(
    admin_client: Any, admin: Any, db: Any, leak_guard: Any
) -> None:
    import re

    from idaas.applications import apps

    actor = f"admin:{admin.id}"
    created = admin_client.post(
        "/admin/applications/new",
        data={
            "name": "Wiki",
            "redirect_uris": "https://wiki.example/cb",
            "scopes": ["openid", "profile"],
            "everyone": "y",
            "subject_type": "public",
            "subaccount_mode": "direct",
            "access_token_lifetime": 3600,
            "id_token_lifetime": 3600,
            "refresh_token_lifetime": 86400,
        },
    )
    assert created.status_code == 200, created.get_data(as_text=True)[:3000]
    html = created.get_data(as_text=True)
    first = re.search(r'id="secret-value">([^<]+)<', html).group(1)
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    leak_guard.register(first)
    rotated = _confirm(admin_client, f"/admin/applications/{client_id}/rotate-secret")
    second = re.search(r'id="secret-value">([^<]+)<', rotated.get_data(as_text=True)).group(1)
    leak_guard.register(second)
    assert second != first
    _audited(db, "application.secret_rotated", actor)
    assert _confirm(admin_client, f"/admin/applications/{client_id}/disable").status_code == 302
    db.session.rollback()
    assert apps.get_application(client_id).enabled is False
    assert _confirm(admin_client, f"/admin/applications/{client_id}/delete").status_code == 302
    _audited(db, "application.deleted", actor)


def test_api_client_lifecycle_and_request_reject(
    admin_client: Any, admin: Any, db: Any, leak_guard: Any
) -> None:
    import re

    from idaas.applications import service as clients

    actor = f"admin:{admin.id}"
    created = admin_client.post(
        "/admin/clients/new", data={"name": "HR sync", "scopes": ["directory:read"], "note": "HR"}
    )
    html = created.get_data(as_text=True)
    leak_guard.register(re.search(r'id="secret-value">([^<]+)<', html).group(1))
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    rotated = _confirm(admin_client, f"/admin/clients/{client_id}/rotate")
    leak_guard.register(
        re.search(r'id="secret-value">([^<]+)<', rotated.get_data(as_text=True)).group(1)
    )
    assert _confirm(admin_client, f"/admin/clients/{client_id}/disable").status_code == 302
    db.session.rollback()
    assert clients.get_client(client_id).enabled is False
    assert _confirm(admin_client, f"/admin/clients/{client_id}/delete").status_code == 302
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor == actor)))
    assert {
        "api_client.created",
        "api_client.secret_rotated",
        "api_client.disabled",
        "api_client.deleted",
    } <= actions
    request = clients.submit_request(
        name="Vendor", contact="v@example.com", scopes=["directory:read"], reason="Sync"
    )
    path = f"/admin/requests/{request.reference}/reject"
    no_reason = admin_client.post(path, data={"confirm": "yes", "reason": ""})
    assert no_reason.status_code == 422
    assert clients.get_request(request.reference).status == "pending"
    assert (
        admin_client.post(path, data={"confirm": "yes", "reason": "Not needed"}).status_code == 302
    )
    db.session.rollback()
    row = clients.get_request(request.reference)
    assert row.status == "rejected" and row.decision_reason == "Not needed"


def test_key_rotation_and_admin_revoke(
    admin_client: Any, admin: Any, account: Any, db: Any
) -> None:
    from idaas.admin import roles

    actor = f"admin:{admin.id}"
    assert _confirm(admin_client, "/admin/keys/rotate").status_code == 302
    _audited(db, "oidc.key_rotated", actor)
    roles.grant("system", account.id, "auditor")
    assert _confirm(admin_client, f"/admin/admins/{account.id}/auditor/revoke").status_code == 302
    db.session.rollback()
    assert roles.roles_of(account.id) == []
    _audited(db, "admin.role.revoked", actor)
    # The last super admin stays.
    response = admin_client.post(
        f"/admin/admins/{admin.id}/super_admin/revoke", data={"confirm": "yes"}
    )
    assert response.status_code == 200
    assert [r.key for r in roles.roles_of(admin.id)] == ["super_admin"]


def test_integration_request_approve_shows_the_secret_once(
    admin_client: Any, admin: Any, db: Any, leak_guard: Any
) -> None:
    import re

    from idaas.applications import service as clients

    request = clients.submit_request(
        name="Vendor", contact="v@example.com", scopes=["directory:read"], reason="Sync"
    )
    path = f"/admin/requests/{request.reference}/approve"
    assert admin_client.get(path).status_code == 200
    assert clients.get_request(request.reference).status == "pending"
    response = admin_client.post(path, data={"confirm": "yes"})
    html = response.get_data(as_text=True)
    secret = re.search(r'id="secret-value">([^<]+)<', html).group(1)
    leak_guard.register(secret)
    assert response.headers["Cache-Control"] == "no-store"
    db.session.rollback()
    row = clients.get_request(request.reference)
    assert row.status == "approved" and row.decided_by == f"admin:{admin.id}"
    _audited(db, "integration_request.approved", f"admin:{admin.id}")
    again = admin_client.post(path, data={"confirm": "yes"})
    assert again.status_code == 200 and secret not in again.get_data(as_text=True)


def test_application_settings_show_service_errors_and_save(admin_client: Any, admin: Any) -> None:
    from idaas.applications import apps

    app, secret = apps.create_application(
        "system", name="Docs", redirect_uris=["https://docs.example/cb"]
    )
    base = {
        "name": "Docs",
        "redirect_uris": "https://docs.example/cb",
        "scopes": ["openid"],
        "subject_type": "public",
        "subaccount_mode": "direct",
        "access_token_lifetime": 3600,
        "id_token_lifetime": 3600,
        "refresh_token_lifetime": 86400,
        "everyone": "y",
    }
    bad = admin_client.post(
        f"/admin/applications/{app.client_id}", data={**base, "redirect_uris": "not a url"}
    )
    assert bad.status_code == 422 and 'id="redirect_uris-error"' in bad.get_data(as_text=True)
    assert apps.get_application(app.client_id).redirect_uris == ["https://docs.example/cb"]
    mapping = admin_client.post(
        f"/admin/applications/{app.client_id}", data={**base, "subaccount_mode": "mapping"}
    )
    assert mapping.status_code == 422 and 'id="subaccount_rule-error"' in mapping.get_data(
        as_text=True
    )
    from idaas.directory import service as directory

    groups = [directory.create_group("system", name=n).id for n in ("财务", "法务")]
    ok = admin_client.post(
        f"/admin/applications/{app.client_id}",
        data={**base, "consent_required": "", "everyone": "", "policy_groups": groups},
    )
    assert ok.status_code == 302
    saved = apps.get_application(app.client_id)
    assert saved.consent_required is False
    assert saved.policy == {
        "everyone": False,
        "departments": [],
        "groups": sorted(groups),
        "roles": [],
        "accounts": [],
    }
    assert secret
