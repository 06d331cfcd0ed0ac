"""Admin roles: data in the directory, granted by a super admin, enforced on every request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from idaas.admin import roles
from idaas.audit.models import AuditEvent
from idaas.directory import service
from idaas.directory.errors import DirectoryError


def test_init_makes_the_first_super_admin(make_app: Any, tmp_path: Any) -> None:
    from flask.cli import ScriptInfo

    from idaas.cli import cli

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'init.db'}")
    result = app.test_cli_runner().invoke(
        cli,
        ["init", "--admin-username", "boss", "--password", "Chief-Pass-1234"],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        from idaas.extensions import db

        boss = service.find_by_identifier("boss")
        assert [r.key for r in roles.roles_of(boss.id)] == ["super_admin"]
        assert roles.permissions_of(boss.id) == frozenset({"admin"})
        db.session.remove()
        db.engine.dispose()


def test_roles_are_directory_roles_with_idaas_permissions(app: Any, admin: Any) -> None:
    role = roles.ensure_role("system", "auditor")
    assert role.code == "idaas.auditor"
    assert sorted(p.action for p in role.permissions) == sorted(roles.ROLES["auditor"].permissions)
    assert {p.resource for p in role.permissions} == {"idaas"}


def test_grant_revoke_list_cli(runner: Any, admin: Any, account: Any) -> None:
    result = runner.invoke(args=["admins", "grant", "alice", "auditor", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["granted"] is True
    listed = json.loads(runner.invoke(args=["admins", "list", "--json"]).output)
    assert {"id": account.id, "username": "alice", "roles": ["auditor"]} in listed
    assert roles.permissions_of(account.id) >= {"audit.read", "audit.export"}
    result = runner.invoke(args=["admins", "revoke", "alice", "auditor"])
    assert result.exit_code == 0, result.output
    assert roles.permissions_of(account.id) == frozenset()
    actions = set(
        runner.app.extensions["sqlalchemy"].session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == str(account.id))
        )
    )
    assert {"admin.role.granted", "admin.role.revoked"} <= actions


def test_cli_refuses_unknown_role_and_account(runner: Any, admin: Any) -> None:
    assert runner.invoke(args=["admins", "grant", "root", "god"]).exit_code != 0
    result = runner.invoke(args=["admins", "grant", "nobody-here", "auditor"])
    assert result.exit_code != 0 and "No account" in result.output


def test_last_super_admin_cannot_be_revoked(app: Any, admin: Any, account: Any) -> None:
    with pytest.raises(DirectoryError):
        roles.revoke("system", admin.id, "super_admin")
    assert roles.permissions_of(admin.id) == frozenset({"admin"})
    roles.grant("system", account.id, "super_admin")
    assert roles.revoke("system", admin.id, "super_admin") is True
    assert roles.permissions_of(admin.id) == frozenset()


def test_revoke_takes_effect_on_the_next_request(role_client: Any, admin: Any) -> None:
    client, person = role_client("directory_admin")
    assert client.get("/admin/accounts").status_code == 200
    roles.revoke(f"admin:{admin.id}", person.id, "directory_admin")
    assert client.get("/admin/accounts").status_code == 403


def test_grant_through_the_console_is_audited_with_the_admin(
    admin_client: Any, admin: Any, account: Any, db: Any
) -> None:
    response = admin_client.post(
        "/admin/admins", data={"account": "alice", "role": "application_admin", "confirm": "yes"}
    )
    assert response.status_code == 302
    assert [r.key for r in roles.roles_of(account.id)] == ["application_admin"]
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "admin.role.granted"))
    assert row.actor == f"admin:{admin.id}" and row.target_id == str(account.id)
    # Unknown account: a field error, nothing granted.
    response = admin_client.post(
        "/admin/admins", data={"account": "ghost", "role": "auditor", "confirm": "yes"}
    )
    assert response.status_code == 422 and "grant-error" in response.get_data(as_text=True)
